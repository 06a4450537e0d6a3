package dev.pledge.sdk.jta;

import dev.pledge.protocol.ProblemTypes;

import java.net.URI;

/**
 * A request or participant callback this service cannot serve as asked: joining a transaction that is
 * completing here, too many joined transactions, a branch busy with another request, a phase-2 call that
 * failed in a way the coordinator must retry. Carries what the HTTP answer needs (status, problem type,
 * whether to retry); the message names the txid and what to do next.
 */
public final class ParticipantException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final URI type;
    private final String txid;
    private final boolean retry;

    public ParticipantException(int status, URI type, String txid, boolean retry, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.type = type;
        this.txid = txid;
        this.retry = retry;
    }

    /** 409: the transaction can no longer take this (it is completing or finished here). */
    static ParticipantException notActive(String txid, String message) {
        return new ParticipantException(409, ProblemTypes.TRANSACTION_NOT_ACTIVE, txid, false, message, null);
    }

    /** 503 + Retry-After: busy or temporarily failing; the same call may succeed later. */
    static ParticipantException retryLater(String txid, String message, Throwable cause) {
        return new ParticipantException(503, ProblemTypes.OUTCOME_UNKNOWN, txid, true, message, cause);
    }

    /** The HTTP status to answer. */
    public int status() {
        return status;
    }

    /** The problem type ({@link ProblemTypes}). */
    public URI type() {
        return type;
    }

    public String txid() {
        return txid;
    }

    /** True when the caller should try again shortly (answered with {@code Retry-After}). */
    public boolean retry() {
        return retry;
    }
}
