package dev.pledge.sdk.client;

import java.net.URI;

/** No answer from any coordinator node within the retry budget (connection refused, timeouts, 503 without a leader, 5xx). The request may or may not have been applied. */
public class CoordinatorUnavailableException extends PledgeException {
    public CoordinatorUnavailableException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
