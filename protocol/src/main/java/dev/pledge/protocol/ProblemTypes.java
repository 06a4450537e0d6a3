package dev.pledge.protocol;

import java.net.URI;

/** The stable {@code type} URIs of Pledge's problem+json errors. */
public final class ProblemTypes {
    private ProblemTypes() {
    }

    public static final String BASE = "https://pledge.dev/problems/";

    public static final URI UNAUTHORIZED = uri("unauthorized");
    public static final URI FORBIDDEN = uri("forbidden");
    public static final URI MALFORMED_REQUEST = uri("malformed-request");
    public static final URI INVALID_TXID = uri("invalid-txid");
    public static final URI INVALID_BRANCH = uri("invalid-branch");
    public static final URI PAYLOAD_TOO_LARGE = uri("payload-too-large");
    public static final URI UNSUPPORTED_MEDIA_TYPE = uri("unsupported-media-type");
    public static final URI METHOD_NOT_ALLOWED = uri("method-not-allowed");
    public static final URI NOT_FOUND = uri("not-found");
    public static final URI TRANSACTION_NOT_FOUND = uri("transaction-not-found");
    public static final URI TRANSACTION_NOT_ACTIVE = uri("transaction-not-active");
    public static final URI TRANSACTION_COMMITTED = uri("transaction-committed");
    public static final URI OUTCOME_UNKNOWN = uri("outcome-unknown");
    public static final URI UNKNOWN_RESOURCE = uri("unknown-resource");
    public static final URI RESOURCE_NOT_FOUND = uri("resource-not-found");
    public static final URI RESOURCE_UNREACHABLE = uri("resource-unreachable");
    public static final URI NO_LEADER = uri("no-leader");
    /** A heuristic action that would contradict a recorded decision (or touch an undecided transaction). */
    public static final URI HEURISTIC_RISK = uri("heuristic-risk");
    public static final URI LIMIT_EXCEEDED = uri("limit-exceeded");
    public static final URI INTERNAL_ERROR = uri("internal-error");

    private static URI uri(String name) {
        return URI.create(BASE + name);
    }
}
