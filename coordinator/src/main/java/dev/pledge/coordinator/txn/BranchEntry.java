package dev.pledge.coordinator.txn;

import dev.pledge.protocol.BranchState;

import java.time.Instant;

/** One branch of a global transaction. Guarded by the monitor of its {@link GlobalTransaction}. */
public final class BranchEntry {
    final String branchId;
    final String resource;
    final String callbackUrl;
    BranchState state;
    /**
     * The branch may be prepared in its resource: it registered as PREPARED, or PREPARE was sent to it
     * (even if no vote came back). Such a branch is never taken as rolled back on a participant's word
     * that it does not know it; it is finished at the resource instead.
     */
    boolean prepareSent;
    /** Its participant reported it rolled back before the transaction was decided. */
    boolean reportedRolledBack;
    /** Its participant reported it committed before the transaction was decided. */
    boolean reportedCommitted;
    int attempts;
    String lastError;
    Instant nextAttemptAt;
    boolean assumedCommitted;
    /** The participant failed us: the next attempt goes straight to the resource (XA bridging). */
    boolean bridgeNext;
    /** Its HEURISTIC_* state is in the log (an operator's action, or an OBSERVED record): never write it again. */
    boolean heuristicRecorded;
    /** A phase-2 call for this branch is in flight; at most one at a time. */
    boolean inFlight;

    BranchEntry(String branchId, String resource, String callbackUrl, BranchState state) {
        this.branchId = branchId;
        this.resource = resource;
        this.callbackUrl = callbackUrl;
        this.state = state;
        this.prepareSent = state == BranchState.PREPARED;
    }

    public String branchId() {
        return branchId;
    }

    public String resource() {
        return resource;
    }

    public String callbackUrl() {
        return callbackUrl;
    }

    public BranchState state() {
        return state;
    }
}
