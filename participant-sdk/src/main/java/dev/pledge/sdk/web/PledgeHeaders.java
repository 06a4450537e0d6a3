package dev.pledge.sdk.web;

import dev.pledge.sdk.jta.PledgeTransaction;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import jakarta.transaction.Status;

import java.util.LinkedHashMap;
import java.util.Map;

/** The HTTP headers that carry a Pledge transaction from one service to the next. */
public final class PledgeHeaders {
    /** The txid of the caller's transaction: the receiving service joins it. */
    public static final String TXID = "Pledge-Txid";
    /**
     * The transaction's deadline (ISO-8601 instant, e.g. {@code 2026-11-27T12:00:30Z}), an extension of the
     * wire contract: the receiving service releases what it parked for the transaction soon after it. Without
     * it, the receiver assumes its own {@code pledge.participant.default-timeout}.
     */
    public static final String DEADLINE = "Pledge-Deadline";

    private PledgeHeaders() {
    }

    /**
     * The headers to send with a call made in the calling thread's transaction (empty outside one), for
     * clients other than {@code RestClient}/{@code RestTemplate}. Records that the transaction was propagated,
     * so its commit asks the coordinator, which prepares the other service's branches.
     */
    public static Map<String, String> propagate(PledgeTransactionManager tm) {
        PledgeTransaction tx = tm.getTransaction();
        if (tx == null) {
            return Map.of();
        }
        int status = tx.getStatus();
        if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
            return Map.of();
        }
        try {
            tx.markPropagated();
        } catch (IllegalStateException e) {
            return Map.of(); // completion started meanwhile: a call made now could not join
        }
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(TXID, tx.txid());
        headers.put(DEADLINE, tx.deadline().toString());
        return headers;
    }
}
