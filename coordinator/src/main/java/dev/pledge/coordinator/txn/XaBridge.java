package dev.pledge.coordinator.txn;

import java.util.concurrent.CompletableFuture;

/**
 * The coordinator's own XA connections to resource managers ("XA bridging", DESIGN.md §6): phase 2
 * of a branch finished directly at its resource when its participant cannot do it.
 */
public interface XaBridge {

    /** What a commit or rollback by XID achieved, classified per safety rule S6. */
    enum Result {
        /** Done now. */
        DONE,
        /** XAER_NOTA: on commit, assume it was committed (S6); on rollback, already rolled back. */
        NOT_FOUND,
        /** The resource reported a heuristic outcome (already forgotten). */
        HEURISTIC_COMMIT, HEURISTIC_ROLLBACK, HEURISTIC_MIXED
    }

    /** True when the coordinator has an XA connection configured for this resource. */
    boolean canReach(String resource);

    /** Completes exceptionally when the call must be retried (resource down, XA_RETRY, XAER_RMFAIL...). */
    CompletableFuture<Result> commit(String resource, String txid, String branchId);

    CompletableFuture<Result> rollback(String resource, String txid, String branchId);

    /** No resources configured: nothing can be bridged. */
    XaBridge NONE = new XaBridge() {
        @Override
        public boolean canReach(String resource) {
            return false;
        }

        @Override
        public CompletableFuture<Result> commit(String resource, String txid, String branchId) {
            return CompletableFuture.failedFuture(new IllegalStateException("no XA connection to resource " + resource));
        }

        @Override
        public CompletableFuture<Result> rollback(String resource, String txid, String branchId) {
            return commit(resource, txid, branchId);
        }
    };
}
