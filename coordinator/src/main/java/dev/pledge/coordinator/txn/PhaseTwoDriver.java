package dev.pledge.coordinator.txn;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.failpoint.Failpoints;
import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.TxState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Drives every decided transaction to the end of phase 2, forever: COMMITTING ones commit each
 * PREPARED branch, ABORTING ones roll back each branch that may hold work. Failed calls are retried
 * with capped exponential backoff and full jitter; attempts, last error and next attempt are kept
 * on the branch for the API. When a participant's callback fails, times out or does not know its
 * branch, the branch is finished directly at its resource through the {@link XaBridge}; a branch
 * without callback (prepared early by the SDK, which finishes it itself) is bridged only after the
 * completion grace period. COMPLETED records are appended lazily, many txids per record.
 */
public final class PhaseTwoDriver {
    private static final Logger log = LoggerFactory.getLogger(PhaseTwoDriver.class);
    /** An ACTIVE branch never asked to prepare holds no prepared work; after this many failed
     *  rollback calls its participant is taken as gone and its resource as having rolled it back (S7). */
    private static final int UNPREPARED_ROLLBACK_ATTEMPTS = 5;
    private static final int MAX_TXIDS_PER_COMPLETED_RECORD = 1024;
    /**
     * Phase-2 calls in flight per resource. After a restart with thousands of pending transactions
     * this keeps the coordinator from opening a socket per branch at once and overrunning participants
     * (and, through bridging, databases); the rest queue in order.
     */
    static final int MAX_CALLS_PER_RESOURCE = 32;
    private static final long COMPLETED_FLUSH_MILLIS = 20;

    private final TransactionEngine engine;
    private final DecisionLog decisionLog;
    private final ParticipantGateway gateway;
    private final XaBridge bridge;
    private final PledgeProperties props;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final ConcurrentLinkedQueue<String> completedToLog = new ConcurrentLinkedQueue<>();
    private final ResourceLanes lanes;
    /** Branches that ended against the decision without an operator (OBSERVED records), since start. */
    private final java.util.concurrent.atomic.AtomicLong observedHeuristics = new java.util.concurrent.atomic.AtomicLong();
    /** Called with the resource name of every failed phase-2 attempt (a metric). */
    private volatile java.util.function.Consumer<String> retries = resource -> { };

    PhaseTwoDriver(TransactionEngine engine, DecisionLog decisionLog, ParticipantGateway gateway, XaBridge bridge,
                   PledgeProperties props, Clock clock, ScheduledExecutorService scheduler) {
        this.engine = engine;
        this.decisionLog = decisionLog;
        this.gateway = gateway;
        this.bridge = bridge;
        this.lanes = new ResourceLanes(MAX_CALLS_PER_RESOURCE, scheduler);
        this.props = props;
        this.clock = clock;
        this.scheduler = scheduler;
        scheduler.scheduleWithFixedDelay(this::flushCompleted, COMPLETED_FLUSH_MILLIS, COMPLETED_FLUSH_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    public void onRetry(java.util.function.Consumer<String> listener) {
        this.retries = listener;
    }

    /** Branches that ended HEURISTIC_* on their resource's or participant's word since start (a metric). */
    public long observedHeuristics() {
        return observedHeuristics.get();
    }

    /** Starts phase 2 (or the rollback) of a decided transaction. */
    void submit(GlobalTransaction tx) {
        List<BranchEntry> todo = new ArrayList<>();
        synchronized (tx) {
            for (BranchEntry b : tx.branches.values()) {
                if (!b.state.isFinished()) {
                    todo.add(b);
                }
            }
        }
        recordObservedHeuristics(tx);
        if (todo.isEmpty()) {
            finishIfDone(tx);
            return;
        }
        for (BranchEntry b : todo) {
            attempt(tx, b);
        }
    }

    /** Retries every unfinished branch of a transaction now (operator action), bridging where possible. */
    void retryNow(GlobalTransaction tx) {
        synchronized (tx) {
            tx.branches.values().forEach(b -> b.bridgeNext = b.callbackUrl == null || bridge.canReach(b.resource));
        }
        submit(tx);
    }

    private void attempt(GlobalTransaction tx, BranchEntry b) {
        boolean commit;
        boolean viaBridge;
        String url;
        synchronized (tx) {
            if (b.state.isFinished() || b.inFlight) {
                return;
            }
            if (tx.state != TxState.COMMITTING && tx.state != TxState.ABORTING) {
                return;
            }
            if (!engine.isLeading()) {
                // deposed: the next leader rebuilds phase 2 from the log
                return;
            }
            if (!engine.holdsLease()) {
                // maybe deposed without knowing it yet (frozen, cut off): call no participant; look again
                // shortly, when this node either leads with a lease again or has stepped down
                attemptAgainIn(tx, b, props.phaseTwo().initialBackoff().toMillis());
                return;
            }
            commit = tx.state == TxState.COMMITTING;
            url = b.callbackUrl;
            boolean reachable = bridge.canReach(b.resource);
            viaBridge = reachable && (url == null || b.bridgeNext);
            if (url == null) {
                Instant graceEnd = (tx.decidedAt == null ? clock.instant() : tx.decidedAt)
                        .plus(props.participant().completionGrace());
                if (clock.instant().isBefore(graceEnd)) {
                    // Phase-2 ownership: the participant that prepared this branch finishes it itself
                    // and reports; the coordinator steps in only after the grace period.
                    attemptAgainIn(tx, b, Math.max(1, graceEnd.toEpochMilli() - clock.millis()));
                    return;
                }
                if (!reachable) {
                    b.attempts++;
                    b.lastError = "no completion report from the participant, and the coordinator has no XA"
                            + " connection for resource '" + b.resource + "': configure pledge.resources." + b.resource
                            + ".* so the coordinator can finish the branch";
                    scheduleRetry(tx, b);
                    return;
                }
            }
            if (!lanes.acquireOrWait(b.resource, () -> attempt(tx, b))) {
                return; // this resource already has its share of calls in flight: wait for one to finish
            }
            b.inFlight = true;
        }
        if (viaBridge) {
            CompletableFuture<XaBridge.Result> call = commit
                    ? bridge.commit(b.resource, tx.id, b.branchId)
                    : bridge.rollback(b.resource, tx.id, b.branchId);
            call.orTimeout(props.participant().callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((result, error) -> {
                        lanes.release(b.resource);
                        onBridgeAnswer(tx, b, commit, result, error);
                    });
        } else {
            CompletableFuture<String> call = commit
                    ? gateway.commit(url, tx.id, b.branchId, false)
                    : gateway.rollback(url, tx.id, b.branchId);
            call.orTimeout(props.participant().callTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((answer, error) -> {
                        lanes.release(b.resource);
                        onAnswer(tx, b, commit, answer, error);
                    });
        }
    }

    private void onAnswer(GlobalTransaction tx, BranchEntry b, boolean commit, String answer, Throwable error) {
        boolean retry = false;
        boolean retryNow = false;
        synchronized (tx) {
            b.inFlight = false;
            if (b.state.isFinished()) {
                // a completion report got here first
            } else if (error != null) {
                Throwable cause = error.getCause() != null ? error.getCause() : error;
                b.attempts++;
                b.lastError = (commit ? "commit" : "rollback") + " call to " + b.callbackUrl + " failed: " + cause;
                if (!commit && !b.prepareSent && b.state == BranchState.ACTIVE && b.attempts >= UNPREPARED_ROLLBACK_ATTEMPTS) {
                    b.state = BranchState.ROLLED_BACK;
                    b.lastError += "; the branch was never prepared, so its resource rolls its work back (S7)";
                } else {
                    b.state = BranchState.FAILED_RETRYING;
                    retry = true;
                    // the participant is unreachable: finish the branch at its resource directly
                    retryNow = bridge.canReach(b.resource);
                    b.bridgeNext = retryNow;
                }
            } else if ("COMMITTED".equals(answer)) {
                b.state = commit ? BranchState.COMMITTED : BranchState.HEURISTIC_COMMIT;
                b.lastError = commit ? null : "asked to roll back, the participant reported COMMITTED";
            } else if ("ROLLED_BACK".equals(answer)) {
                b.state = commit ? BranchState.HEURISTIC_ROLLBACK : BranchState.ROLLED_BACK;
                b.lastError = commit ? "asked to commit, the participant reported ROLLED_BACK" : null;
            } else if (!commit && !b.prepareSent) {
                // UNKNOWN_BRANCH on rollback of work that was never prepared: nothing is left to undo.
                b.state = BranchState.ROLLED_BACK;
            } else {
                b.attempts++;
                b.lastError = "participant at " + b.callbackUrl + " answered " + answer + " for a prepared branch;"
                        + " it must be finished at resource '" + b.resource + "' directly";
                b.state = BranchState.FAILED_RETRYING;
                retry = true;
                retryNow = bridge.canReach(b.resource);
                b.bridgeNext = retryNow;
            }
        }
        afterAnswer(tx, b, commit, retry, retryNow);
    }

    /** S6: NOTA on commit = assume committed (shown as assumedCommitted), on rollback = already rolled back. */
    private void onBridgeAnswer(GlobalTransaction tx, BranchEntry b, boolean commit, XaBridge.Result result, Throwable error) {
        boolean retry = false;
        synchronized (tx) {
            b.inFlight = false;
            b.bridgeNext = false;
            if (b.state.isFinished()) {
                // a completion report got here first
            } else if (error != null) {
                Throwable cause = error.getCause() != null ? error.getCause() : error;
                b.attempts++;
                b.lastError = (commit ? "XA commit" : "XA rollback") + " at resource '" + b.resource + "' failed: "
                        + cause.getMessage();
                b.state = BranchState.FAILED_RETRYING;
                retry = true;
            } else {
                switch (result) {
                    case DONE -> b.state = commit ? BranchState.COMMITTED : BranchState.ROLLED_BACK;
                    case NOT_FOUND -> {
                        b.state = commit ? BranchState.COMMITTED : BranchState.ROLLED_BACK;
                        if (commit) {
                            b.assumedCommitted = true;
                            b.lastError = "resource '" + b.resource + "' no longer knows the branch (XAER_NOTA):"
                                    + " assumed committed by its participant (S6)";
                        }
                    }
                    case HEURISTIC_COMMIT -> b.state = commit ? BranchState.COMMITTED : BranchState.HEURISTIC_COMMIT;
                    case HEURISTIC_ROLLBACK -> b.state = commit ? BranchState.HEURISTIC_ROLLBACK : BranchState.ROLLED_BACK;
                    default -> b.state = BranchState.HEURISTIC_MIXED;
                }
                if (b.state.isHeuristic()) {
                    b.lastError = "resource '" + b.resource + "' reported " + result + " for this branch";
                }
            }
        }
        afterAnswer(tx, b, commit, retry, false);
    }

    private void afterAnswer(GlobalTransaction tx, BranchEntry b, boolean commit, boolean retry, boolean retryNow) {
        if (retry) {
            logRetry(tx, b);
            if (retryNow) {
                scheduler.execute(() -> attempt(tx, b));
            } else {
                scheduleRetry(tx, b);
            }
            return;
        }
        recordObservedHeuristics(tx);
        if (commit && !tx.allBranchesFinished()) {
            Failpoints.hit(Failpoints.BETWEEN_BRANCH_COMMITS, tx.id);
        }
        finishIfDone(tx);
    }

    /**
     * S6 "record the heuristic": a branch that ended against the decision because its resource or
     * participant decided on its own is written to the log as an OBSERVED HEURISTIC record (forced,
     * before the transaction's COMPLETED). A restart then keeps the branch as it ended instead of
     * driving it again and reading the resource's XAER_NOTA as "committed", and the audit log shows it.
     */
    private void recordObservedHeuristics(GlobalTransaction tx) {
        List<LogRecord.Heuristic> records = new ArrayList<>();
        synchronized (tx) {
            for (BranchEntry b : tx.branches.values()) {
                if (b.state.isHeuristic() && !b.heuristicRecorded) {
                    b.heuristicRecorded = true;
                    records.add(new LogRecord.Heuristic(UUID.randomUUID().toString(), tx.id, b.branchId, b.resource,
                            null, LogRecord.Heuristic.OBSERVED, "phase-2", b.lastError, false, clock.millis(),
                            b.state.name()));
                }
            }
        }
        observedHeuristics.addAndGet(records.size());
        for (LogRecord.Heuristic r : records) {
            decisionLog.appendInEpoch(r, engine.epoch()).whenComplete((v, e) -> {
                if (e != null) {
                    log.warn("Heuristic outcome {} of transaction {} branch {} (resource {}) was not written to the"
                            + " decision log: {}. It is shown until the coordinator restarts; after a restart phase 2"
                            + " asks the resource again", r.outcome(), r.txid(), r.branchId(), r.resource(), e.toString());
                }
            });
        }
    }

    private void logRetry(GlobalTransaction tx, BranchEntry b) {
        synchronized (tx) {
            retries.accept(b.resource);
            if (b.attempts <= 3 || Integer.bitCount(b.attempts) == 1) {
                log.warn("{} of transaction {} branch {} (resource {}) attempt {} failed: {}; retrying with backoff"
                                + " (GET /api/v1/transactions/{} shows the next attempt)",
                        tx.state == TxState.COMMITTING ? "Phase 2" : "Rollback", tx.id, b.branchId, b.resource,
                        b.attempts, b.lastError, tx.id);
            }
        }
    }

    private void scheduleRetry(GlobalTransaction tx, BranchEntry b) {
        synchronized (tx) {
            long initial = props.phaseTwo().initialBackoff().toMillis();
            long cap = props.phaseTwo().maxBackoff().toMillis();
            long exp = initial << Math.min(b.attempts - 1, 30);
            long ceiling = Math.max(initial, Math.min(cap, exp));
            // Full jitter over the upper half keeps retries of many branches from synchronising.
            attemptAgainIn(tx, b, ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1));
        }
    }

    /** Attempts the branch again in {@code millis} and shows that time as its next attempt; the caller holds tx. */
    private void attemptAgainIn(GlobalTransaction tx, BranchEntry b, long millis) {
        b.nextAttemptAt = Instant.ofEpochMilli(clock.millis() + millis);
        scheduler.schedule(() -> attempt(tx, b), millis, TimeUnit.MILLISECONDS);
    }

    /** A participant reports that it finished its branch itself. */
    void reported(GlobalTransaction tx, String branchId, BranchState outcome) {
        synchronized (tx) {
            BranchEntry b = tx.branches.get(branchId);
            if (b == null && outcome == BranchState.ROLLED_BACK && tx.decision.getNow(null) == dev.pledge.protocol.Outcome.ABORTED) {
                // a branch the participant reported inline with a commit that found the transaction
                // already aborted: it was never recorded, and rolling it back is all there was to do
                return;
            }
            if (b == null) {
                throw new TransactionException(TransactionException.Kind.NOT_FOUND, tx.id, "transaction " + tx.id
                        + " has no branch '" + Txid.abbreviate(branchId) + "': check the branch id");
            }
            if (b.state.isFinished()) {
                return;
            }
            boolean commit = tx.state == TxState.COMMITTING || tx.state == TxState.COMMITTED;
            if (outcome == BranchState.COMMITTED) {
                b.state = commit ? BranchState.COMMITTED : BranchState.HEURISTIC_COMMIT;
            } else {
                b.state = commit ? BranchState.HEURISTIC_ROLLBACK : BranchState.ROLLED_BACK;
            }
        }
        recordObservedHeuristics(tx);
        finishIfDone(tx);
    }

    void finishIfDone(GlobalTransaction tx) {
        TxState end;
        synchronized (tx) {
            if ((tx.state != TxState.COMMITTING && tx.state != TxState.ABORTING) || !tx.allBranchesFinished()) {
                return;
            }
            boolean committing = tx.state == TxState.COMMITTING;
            boolean anyHeuristic = tx.branches.values().stream().anyMatch(b -> b.state.isHeuristic());
            if (!anyHeuristic) {
                end = committing ? TxState.COMMITTED : TxState.ABORTED;
            } else {
                boolean anyCommitted = tx.branches.values().stream()
                        .anyMatch(b -> b.state == BranchState.COMMITTED || b.state == BranchState.HEURISTIC_COMMIT);
                boolean anyRolledBack = tx.branches.values().stream()
                        .anyMatch(b -> b.state == BranchState.ROLLED_BACK || b.state == BranchState.HEURISTIC_ROLLBACK);
                boolean anyMixed = tx.branches.values().stream().anyMatch(b -> b.state == BranchState.HEURISTIC_MIXED);
                end = anyMixed || (anyCommitted && anyRolledBack) ? TxState.HEURISTIC_MIXED
                        : anyCommitted ? TxState.HEURISTIC_COMMIT : TxState.HEURISTIC_ROLLBACK;
                log.error("Transaction {} ended {}: a participant, a resource or an operator's heuristic action ended a"
                        + " branch against the decision; see GET /api/v1/transactions/{} and check the data by hand",
                        tx.id, end, tx.id);
            }
            if (committing) {
                Failpoints.hit(Failpoints.BEFORE_COMPLETED, tx.id);
                completedToLog.add(tx.id);
            }
            tx.state = end;
        }
        tx.completion.complete(end);
        engine.finished(tx);
    }

    /** Writes pending COMPLETED txids as LAZY records; presumed abort needs no record for aborts. */
    private void flushCompleted() {
        try {
            while (!completedToLog.isEmpty()) {
                List<String> batch = new ArrayList<>();
                String txid;
                while (batch.size() < MAX_TXIDS_PER_COMPLETED_RECORD && (txid = completedToLog.poll()) != null) {
                    batch.add(txid);
                }
                decisionLog.append(new LogRecord.Completed(batch), DecisionLog.Durability.LAZY)
                        .whenComplete((v, e) -> {
                            if (e != null) {
                                // Not a safety problem: a lost COMPLETED only makes phase 2 run again after a restart.
                                log.warn("COMPLETED record for {} transaction(s) not written: {}", batch.size(), e.toString());
                            }
                        });
            }
        } catch (RuntimeException e) {
            log.warn("Writing COMPLETED records failed: {}", e.toString());
        }
    }
}
