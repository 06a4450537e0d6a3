package dev.pledge.sdk.client;

import java.net.URI;

/** 422 `unknown-resource`: a branch names a resource the coordinator cannot reach; register it on the coordinator (`pledge.resources.<name>.*`). */
public class UnknownResourceException extends PledgeException {
    public UnknownResourceException(String message, Throwable cause, URI type, int status, String detail, String txid, String state) {
        super(message, cause, type, status, detail, txid, state);
    }
}
