package dev.pledge.sdk.client;

import java.net.URI;

/** 409 `transaction-not-active`: the transaction is past ACTIVE; {@link #state()} says where it is. */
public class TransactionNotActiveException extends PledgeException {
    public TransactionNotActiveException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
