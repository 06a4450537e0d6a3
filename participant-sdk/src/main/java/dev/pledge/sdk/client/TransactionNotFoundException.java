package dev.pledge.sdk.client;

import java.net.URI;

/** 404 `transaction-not-found`: the coordinator does not know the txid (and cannot yet presume it aborted). */
public class TransactionNotFoundException extends PledgeException {
    public TransactionNotFoundException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
