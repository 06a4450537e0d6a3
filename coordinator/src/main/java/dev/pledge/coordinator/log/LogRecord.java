package dev.pledge.coordinator.log;

import java.util.List;
import java.util.Objects;

/**
 * A record of the decision log. The set of record kinds is closed; the binary encoding
 * ({@link LogRecordCodec}) carries a format version so old logs stay readable.
 */
public sealed interface LogRecord {

    /** Single-node boot counter, forced at every start before the first txid is issued. */
    record Epoch(long epoch) implements LogRecord {
        public Epoch {
            if (epoch <= 0) throw new IllegalArgumentException("epoch must be positive: " + epoch);
        }
    }

    /** The commit point: once durable, every branch listed here must eventually commit. */
    record Commit(String txid, List<Branch> branches, long decidedAtMillis) implements LogRecord {
        public Commit {
            Objects.requireNonNull(txid, "txid");
            branches = List.copyOf(branches);
        }
    }

    /** A branch named in a COMMIT record. The XID is derived: gtrid = txid, bqual = branchId. */
    record Branch(String branchId, String resource, String callbackUrl) {
        public Branch {
            Objects.requireNonNull(branchId, "branchId");
            Objects.requireNonNull(resource, "resource");
        }
    }

    /** Phase 2 finished for these transactions; written lazily and in batches. */
    record Completed(List<String> txids) implements LogRecord {
        public Completed {
            txids = List.copyOf(txids);
        }
    }

    /**
     * An operator's heuristic or admin action on one branch. A heuristic action is written twice with
     * the same {@code id}: before it is executed ({@code outcome} null) and with its result after, so a
     * crash in between leaves an action whose result is unknown rather than one nobody knows was tried.
     *
     * @param id       pairs the intent with its result; unique per action
     * @param txid     this cluster's txid, or null for a foreign XID
     * @param branchId the branch of {@code txid}, or null
     * @param resource the resource manager acted on, or null for an action on the coordinator only
     * @param xid      a foreign XID as {@code formatId:base64(gtrid):base64(bqual)}, or null for this cluster's
     * @param action   COMMIT, ROLLBACK, FORGET (heuristic), RETRY (admin) or {@link #OBSERVED}
     * @param force    the operator confirmed an action against the recorded decision
     * @param outcome  null on the intent; on the result what the resource answered (e.g. DONE,
     *                 NOT_FOUND, HEURISTIC_MIXED) or {@code FAILED: why}
     */
    record Heuristic(String id, String txid, String branchId, String resource, String xid, String action,
                     String operator, String reason, boolean force, long atMillis, String outcome) implements LogRecord {

        /**
         * The action of a record that no operator wrote: phase 2 saw a branch end against the decision
         * (its resource or participant decided on its own, S6). Its outcome is the branch state.
         */
        public static final String OBSERVED = "OBSERVED";

        /** True for the record written before the action ran. */
        public boolean isIntent() {
            return outcome == null;
        }
    }
}
