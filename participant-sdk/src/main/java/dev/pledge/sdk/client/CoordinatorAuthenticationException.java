package dev.pledge.sdk.client;

import java.net.URI;

/** 401 or 403: the bearer token is missing, wrong, or lacks the PARTICIPANT role. */
public class CoordinatorAuthenticationException extends PledgeException {
    public CoordinatorAuthenticationException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
