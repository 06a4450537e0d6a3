package dev.pledge.sdk.client;

import java.net.URI;

/** 409 `transaction-committed`: a rollback was refused because the transaction is committed. */
public class TransactionCommittedException extends PledgeException {
    public TransactionCommittedException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
