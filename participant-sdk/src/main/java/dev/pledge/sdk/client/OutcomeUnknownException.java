package dev.pledge.sdk.client;

import java.net.URI;

/** 503 `outcome-unknown` (safety rule S2): the coordinator could not tell yet whether the decision is durable. The transaction is neither committed nor rolled back by that answer: ask again (commit is idempotent). */
public class OutcomeUnknownException extends PledgeException {
    public OutcomeUnknownException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
