package dev.pledge.sdk.client;

import java.net.URI;

/** Any other 4xx: the coordinator refused the request as malformed or too large. */
public class InvalidRequestException extends PledgeException {
    public InvalidRequestException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
