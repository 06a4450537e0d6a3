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

    /** An operator's heuristic action, written before it is executed and again with its result. */
    record Heuristic(String txid, String branchId, String resource, String action, String operator,
                     String reason, long atMillis, String outcome) implements LogRecord {
    }
}
