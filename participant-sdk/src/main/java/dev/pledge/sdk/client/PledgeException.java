package dev.pledge.sdk.client;

import java.net.URI;

/**
 * A call to the coordinator failed. Carries what the coordinator's RFC 9457 problem said (type, status,
 * detail, txid, state) when there was an answer; {@link #status()} is 0 when there was none.
 * Subclasses name the kinds a caller decides on; anything else is a plain {@code PledgeException}.
 */
public class PledgeException extends RuntimeException {
    private final URI type;
    private final int status;
    private final String detail;
    private final String txid;
    private final String state;

    public PledgeException(String message, Throwable cause, URI type, int status, String detail, String txid,
                           String state) {
        super(message, cause);
        this.type = type;
        this.status = status;
        this.detail = detail;
        this.txid = txid;
        this.state = state;
    }

    /** The problem type URI ({@code dev.pledge.protocol.ProblemTypes}), or null without a problem body. */
    public URI type() {
        return type;
    }

    /** The HTTP status, or 0 when no answer came back (connection refused, timeout). */
    public int status() {
        return status;
    }

    /** The problem's {@code detail}: what happened and what to do, in the coordinator's words. */
    public String detail() {
        return detail;
    }

    /** The transaction the failure is about, when there is one. */
    public String txid() {
        return txid;
    }

    /** The transaction's state when the problem names one (e.g. on 409), else null. */
    public String state() {
        return state;
    }

    /**
     * True when the coordinator answered and refused the request as such (bad input, authentication,
     * unknown resource): asking again will not help, and nothing was decided by this request.
     * Not found, conflict, timeouts, back-pressure and server errors are not refusals.
     */
    public boolean isRefusal() {
        return status >= 400 && status < 500 && status != 404 && status != 408 && status != 409 && status != 429;
    }
}
