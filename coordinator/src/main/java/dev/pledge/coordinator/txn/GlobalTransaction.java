package dev.pledge.coordinator.txn;

import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.TxState;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One global transaction in the table. Every mutable field is guarded by this object's monitor;
 * state changes happen only inside the engine and the phase-2 driver.
 */
public final class GlobalTransaction {
    final Txid txid;
    final String id;
    final String label;
    final Instant createdAt;
    final Instant deadline;
    final Map<String, BranchEntry> branches = new LinkedHashMap<>();

    TxState state = TxState.ACTIVE;
    Instant decidedAt;
    String reason;
    /** The commit request currently deciding; set while PREPARING. */
    boolean deciding;
    /**
     * A forced COMMIT append whose outcome is not known yet (S2): the transaction is undecided
     * until this future says otherwise; deadlines and rollbacks must not touch it.
     */
    CompletableFuture<Void> commitAppend;
    /**
     * The COMMIT record this transaction commits with, set (under the monitor) the moment the commit
     * request chooses to commit and until the record is durable: from then on a branch reported rolled
     * back is a heuristic rollback, not a reason to abort. Appended again by the next commit request if
     * {@link #commitAppend} failed.
     */
    dev.pledge.coordinator.log.LogRecord.Commit commitRecord;
    /**
     * Why this transaction can no longer commit, learnt while its votes were being collected: a
     * participant reported one of its branches rolled back. The commit request that is deciding
     * aborts instead of writing a COMMIT record.
     */
    String rollbackOnly;
    /** A one-phase commit whose answer was lost: only asking the participant again can decide. */
    boolean onePhaseUnknown;
    ScheduledFuture<?> deadlineTimer;
    /** Completed with the decision; replaced after an unknown outcome so a retry can decide again. */
    CompletableFuture<Outcome> decision = new CompletableFuture<>();
    /** Completed when phase 2 is over (all branches finished). */
    final CompletableFuture<TxState> completion = new CompletableFuture<>();

    GlobalTransaction(Txid txid, String label, Instant createdAt, Instant deadline) {
        this.txid = txid;
        this.id = txid.toString();
        this.label = label;
        this.createdAt = createdAt;
        this.deadline = deadline;
    }

    public String id() {
        return id;
    }

    public synchronized TxState state() {
        return state;
    }

    public synchronized List<BranchEntry> branchesSnapshot() {
        return new ArrayList<>(branches.values());
    }

    synchronized boolean allBranchesFinished() {
        return branches.values().stream().allMatch(b -> b.state.isFinished());
    }
}
