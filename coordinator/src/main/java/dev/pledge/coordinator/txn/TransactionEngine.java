package dev.pledge.coordinator.txn;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.failpoint.Failpoints;
import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.coordinator.txn.TransactionException.Kind;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.TxState;
import dev.pledge.protocol.Vote;
import dev.pledge.xa.XidCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The two-phase-commit engine (DESIGN.md §4). Issues txids, keeps the transaction table, collects
 * votes and makes the decision. The commit point is {@link #appendCommitRecord}: a COMMIT record
 * forced to the {@link DecisionLog}. Phase 2 and rollbacks are handed to the {@link PhaseTwoDriver}.
 */
public final class TransactionEngine {
    private static final Logger log = LoggerFactory.getLogger(TransactionEngine.class);
    private static final int MAX_LABEL_LENGTH = 128;
    private static final int MAX_URL_LENGTH = 512;
    private static final int MAX_RESOURCE_NAME = 64;

    private final PledgeProperties props;
    private final DecisionLog decisionLog;
    private final ParticipantGateway gateway;
    private final Set<String> knownResources;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final PhaseTwoDriver phaseTwo;

    private final ConcurrentHashMap<String, GlobalTransaction> table = new ConcurrentHashMap<>();
    /** Decided transactions in the order they finished, for bounded history. */
    private final ConcurrentLinkedQueue<String> finishedOrder = new ConcurrentLinkedQueue<>();
    private final AtomicInteger finishedCount = new AtomicInteger();
    private final AtomicInteger undecidedCount = new AtomicInteger();
    private final AtomicLong seq = new AtomicLong();
    private volatile long epoch;
    private volatile boolean started;

    public TransactionEngine(PledgeProperties props, DecisionLog decisionLog, ParticipantGateway gateway,
                             XaBridge bridge, Set<String> knownResources, Clock clock, ScheduledExecutorService scheduler) {
        this.props = props;
        this.decisionLog = decisionLog;
        this.gateway = gateway;
        this.knownResources = Set.copyOf(knownResources);
        this.clock = clock;
        this.scheduler = scheduler;
        this.phaseTwo = new PhaseTwoDriver(this, decisionLog, gateway, bridge, props, clock, scheduler);
    }

    // ------------------------------------------------------------------ start-up

    /**
     * Replays the log, forces a new epoch before any txid exists (single-node S3), and resumes
     * phase 2 of every COMMIT record without COMPLETED.
     */
    public void start() throws IOException {
        decisionLog.open();
        long next = decisionLog.table().epoch() + 1;
        try {
            decisionLog.append(new LogRecord.Epoch(next), DecisionLog.Durability.FORCED)
                    .get(props.phaseTwo().appendTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while forcing epoch " + next, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("could not force epoch " + next + " to the decision log in " + props.dataDir()
                    + ": check that the directory is writable and the disk is not full", e);
        }
        lead(next);
    }

    /**
     * Cluster mode: this node became a ready Raft leader in {@code term} (an entry of its own term is
     * committed and applied, so the decision table holds every earlier decision: S3). The term is the
     * epoch of every txid issued from now on. Transactions of an earlier leadership are forgotten:
     * undecided ones are presumed aborted (older epoch), decided ones are rebuilt from the log.
     */
    public synchronized void becomeLeader(long term) {
        if (started && epoch == term) {
            return;
        }
        lead(term);
    }

    /** Cluster mode: this node stopped leading; it stops deciding, issuing txids and driving phase 2 now. */
    public synchronized void stepDown() {
        if (!started) {
            return;
        }
        started = false;
        log.info("Coordinator {} is no longer the leader of epoch {}: it stops deciding and driving phase 2", props.clusterId(), epoch);
    }

    /** True while this node may decide: single node after start, or a ready leader. */
    public boolean isLeading() {
        return started;
    }

    /**
     * True while this node leads and knows no other node can lead (cluster mode: its leader lease, see
     * {@link DecisionLog#mayDecideIn}); a leader without it may have been deposed without knowing yet.
     */
    boolean holdsLease() {
        return started && decisionLog.mayDecideIn(epoch);
    }

    private synchronized void lead(long newEpoch) {
        for (GlobalTransaction old : table.values()) {
            synchronized (old) {
                if (old.deadlineTimer != null) {
                    old.deadlineTimer.cancel(false);
                }
            }
        }
        table.clear();
        finishedOrder.clear();
        finishedCount.set(0);
        undecidedCount.set(0);
        seq.set(0);
        epoch = newEpoch;
        List<LogRecord.Commit> pending = decisionLog.table().pendingCommits();
        Map<String, List<LogRecord.Heuristic>> operatorResults = new HashMap<>();
        for (LogRecord.Heuristic h : decisionLog.table().heuristics()) {
            if (!h.isIntent() && h.txid() != null && h.branchId() != null) {
                operatorResults.computeIfAbsent(h.txid(), k -> new ArrayList<>()).add(h);
            }
        }
        for (LogRecord.Commit commit : pending) {
            GlobalTransaction tx = recovered(commit);
            for (LogRecord.Heuristic h : operatorResults.getOrDefault(tx.id, List.of())) {
                replayOperatorResult(tx, h);
            }
            table.put(tx.id, tx);
        }
        started = true;
        for (GlobalTransaction tx : List.copyOf(table.values())) {
            phaseTwo.submit(tx);
        }
        log.info("Coordinator {} leads epoch {}; {} committed transaction(s) resume phase 2",
                props.clusterId(), epoch, pending.size());
    }

    private GlobalTransaction recovered(LogRecord.Commit commit) {
        Txid txid = Txid.parse(commit.txid());
        Instant decidedAt = Instant.ofEpochMilli(commit.decidedAtMillis());
        GlobalTransaction tx = new GlobalTransaction(txid, null, decidedAt, decidedAt);
        synchronized (tx) {
            tx.state = TxState.COMMITTING;
            tx.decidedAt = decidedAt;
            tx.decision.complete(Outcome.COMMITTED);
            for (LogRecord.Branch b : commit.branches()) {
                tx.branches.put(b.branchId(), new BranchEntry(b.branchId(), b.resource(), b.callbackUrl(), BranchState.PREPARED));
            }
        }
        return tx;
    }

    /**
     * An operator's action whose result the log holds: the branch stays as the action left it, so a
     * restart does not drive it again (nor undo a forced action by committing what was rolled back).
     */
    private static void replayOperatorResult(GlobalTransaction tx, LogRecord.Heuristic h) {
        if (LogRecord.Heuristic.OBSERVED.equals(h.action())) {
            replayObserved(tx, h);
            return;
        }
        OperatorAction.parse(h.action()).ifPresent(action -> // not an admin action such as RETRY
                applyOperatorResult(tx, h.branchId(), action, h.outcome(), "operator " + h.operator() + ": " + action
                        + " -> " + h.outcome() + " (" + h.reason() + "), action " + h.id() + " replayed from the decision log"));
    }

    /** A branch phase 2 saw end against the decision before the restart keeps that state (S6). */
    private static void replayObserved(GlobalTransaction tx, LogRecord.Heuristic h) {
        BranchState state;
        try {
            state = BranchState.valueOf(h.outcome());
        } catch (IllegalArgumentException e) {
            return;
        }
        synchronized (tx) {
            BranchEntry b = tx.branches.get(h.branchId());
            if (b != null && !b.state.isFinished() && state.isFinished()) {
                b.state = state;
                b.lastError = h.reason();
                b.heuristicRecorded = true;
            }
        }
    }

    /**
     * Sets the branch as the operator's action left it, from the outcome its result record keeps; false
     * when the branch was not in phase 2 or the action did not complete.
     */
    private static boolean applyOperatorResult(GlobalTransaction tx, String branchId, OperatorAction action,
                                               String outcome, String note) {
        synchronized (tx) {
            BranchEntry b = tx.branches.get(branchId);
            if (b == null || b.state.isFinished() || (tx.state != TxState.COMMITTING && tx.state != TxState.ABORTING)) {
                return false;
            }
            boolean committing = tx.state == TxState.COMMITTING;
            Optional<BranchState> state = action.branchStateAfterOutcome(committing, outcome);
            if (state.isEmpty()) {
                return false; // failed: phase 2 goes on driving the branch as the decision says
            }
            b.state = state.get();
            b.heuristicRecorded = true; // the action's own records say what happened
            b.assumedCommitted = committing && action != OperatorAction.FORGET
                    && outcome.equals(XaBridge.Result.NOT_FOUND.name());
            b.lastError = note;
            return true;
        }
    }

    public long epoch() {
        return epoch;
    }

    public String clusterId() {
        return props.clusterId();
    }

    // ------------------------------------------------------------------ begin / register

    public GlobalTransaction begin(Long timeoutMs, String label) {
        requireStarted();
        Duration timeout = props.transaction().defaultTimeout();
        if (timeoutMs != null) {
            if (timeoutMs <= 0 || timeoutMs > props.transaction().maxTimeout().toMillis()) {
                throw new TransactionException(Kind.MALFORMED, null, "timeoutMs=" + timeoutMs
                        + " is out of range: use 1.." + props.transaction().maxTimeout().toMillis());
            }
            timeout = Duration.ofMillis(timeoutMs);
        }
        if (label != null && (label.length() > MAX_LABEL_LENGTH || !label.matches("[\\x20-\\x7e]*"))) {
            throw new TransactionException(Kind.MALFORMED, null, "label must be at most " + MAX_LABEL_LENGTH
                    + " printable ASCII characters");
        }
        if (undecidedCount.get() >= props.transaction().maxActive()) {
            throw new TransactionException(Kind.LIMIT_EXCEEDED, null, props.transaction().maxActive()
                    + " transactions are undecided already (pledge.transaction.max-active): commit or roll back"
                    + " some, or retry shortly");
        }
        Instant now = clock.instant();
        Txid txid = new Txid(props.clusterId(), epoch, seq.incrementAndGet());
        GlobalTransaction tx = new GlobalTransaction(txid, label, now, now.plus(timeout));
        undecidedCount.incrementAndGet();
        table.put(tx.id, tx);
        synchronized (tx) {
            tx.deadlineTimer = scheduler.schedule(() -> expire(tx), timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        return tx;
    }

    public void registerBranch(String txid, BranchRegistration reg) {
        GlobalTransaction tx = requireLive(txid);
        BranchEntry entry = validatedBranch(tx.id, reg);
        synchronized (tx) {
            requireActiveForChange(tx);
            addBranch(tx, entry);
        }
    }

    private void addBranch(GlobalTransaction tx, BranchEntry entry) {
        BranchEntry existing = tx.branches.get(entry.branchId);
        if (existing != null) {
            if (!existing.resource.equals(entry.resource)) {
                throw new TransactionException(Kind.INVALID_BRANCH, tx.id, "branch " + entry.branchId
                        + " of transaction " + tx.id + " is registered on resource " + existing.resource
                        + ", not " + entry.resource + ": use a new branch id for another resource");
            }
            // Idempotent re-registration; an ACTIVE branch may report that it prepared early.
            if (existing.state == BranchState.ACTIVE && entry.state != BranchState.ACTIVE) {
                existing.state = entry.state;
                existing.prepareSent |= entry.prepareSent;
            }
            return;
        }
        if (tx.branches.size() >= props.transaction().maxBranches()) {
            throw new TransactionException(Kind.LIMIT_EXCEEDED, tx.id, "transaction " + tx.id + " already has "
                    + tx.branches.size() + " branches (pledge.transaction.max-branches): split the work");
        }
        tx.branches.put(entry.branchId, entry);
    }

    private BranchEntry validatedBranch(String txid, BranchRegistration reg) {
        if (reg == null) {
            throw new TransactionException(Kind.MALFORMED, txid, "a branch registration needs a JSON body with branchId, resource and state");
        }
        if (!XidCodec.isValidBranchId(reg.branchId())) {
            throw new TransactionException(Kind.INVALID_BRANCH, txid, "branchId '" + Txid.abbreviate(reg.branchId())
                    + "' is invalid: use 1-" + XidCodec.MAX_BRANCH_ID_LENGTH + " characters of [A-Za-z0-9._:@-]");
        }
        if (txid.length() + reg.branchId().length() > XidCodec.MAX_GTRID_PLUS_BQUAL) {
            throw new TransactionException(Kind.INVALID_BRANCH, txid, "branchId '" + reg.branchId()
                    + "' is too long for an XID of " + txid + ": txid + branchId must stay under "
                    + XidCodec.MAX_GTRID_PLUS_BQUAL + " bytes");
        }
        String resource = reg.resource();
        if (resource == null || resource.isEmpty() || resource.length() > MAX_RESOURCE_NAME
                || !resource.matches("[A-Za-z0-9._-]+")) {
            throw new TransactionException(Kind.INVALID_BRANCH, txid, "resource '" + Txid.abbreviate(resource)
                    + "' of branch " + reg.branchId() + " is invalid: use the 1-" + MAX_RESOURCE_NAME
                    + " character name ([A-Za-z0-9._-]) the resource is registered under");
        }
        BranchState state = reg.state() == null ? BranchState.ACTIVE : reg.state();
        if (state != BranchState.ACTIVE && state != BranchState.PREPARED && state != BranchState.READ_ONLY) {
            throw new TransactionException(Kind.INVALID_BRANCH, txid, "branch " + reg.branchId() + " state " + state
                    + " cannot be registered: use ACTIVE, PREPARED or READ_ONLY");
        }
        String url = reg.callbackUrl();
        if (url != null) {
            validateCallbackUrl(txid, reg.branchId(), url);
        }
        if (state == BranchState.ACTIVE && url == null) {
            throw new TransactionException(Kind.INVALID_BRANCH, txid, "branch " + reg.branchId()
                    + " is ACTIVE and needs a callbackUrl for the coordinator's PREPARE");
        }
        if (state == BranchState.PREPARED && url == null && !knownResources.contains(resource)) {
            throw new TransactionException(Kind.UNKNOWN_RESOURCE, txid, "branch " + reg.branchId()
                    + " is prepared on resource '" + resource + "', which this coordinator cannot reach, and has no"
                    + " callbackUrl: nobody could finish it after a crash. Register the resource on the coordinator"
                    + " (pledge.resources." + resource + ".*) or give a callbackUrl");
        }
        return new BranchEntry(reg.branchId(), resource, url, state);
    }

    private static void validateCallbackUrl(String txid, String branchId, String url) {
        try {
            URI uri = URI.create(url);
            if (url.length() > MAX_URL_LENGTH || uri.getHost() == null
                    || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                throw new IllegalArgumentException("not an absolute http(s) URL");
            }
        } catch (IllegalArgumentException e) {
            throw new TransactionException(Kind.INVALID_BRANCH, txid, "callbackUrl '" + Txid.abbreviate(url)
                    + "' of branch " + branchId + " is invalid: give the participant's absolute http(s) base URL (at most "
                    + MAX_URL_LENGTH + " characters)");
        }
    }

    // ------------------------------------------------------------------ commit

    /**
     * Decides a transaction. Returns the outcome once decided (and, with {@code waitForCompletion},
     * once phase 2 is done). Throws OUTCOME_UNKNOWN when the COMMIT record's durability is not known
     * (S2): the caller must ask again; the transaction is neither committed nor rolled back by that.
     */
    public Decision commit(String txid, List<BranchRegistration> inline, boolean waitForCompletion) {
        Lookup found = lookup(txid);
        if (found.tx == null) {
            return found.asDecision(txid);
        }
        GlobalTransaction tx = found.tx;
        List<BranchEntry> inlineEntries = new ArrayList<>();
        if (inline != null) {
            if (inline.size() > props.transaction().maxBranches()) {
                throw new TransactionException(Kind.LIMIT_EXCEEDED, txid, "commit of " + txid + " reports "
                        + inline.size() + " branches; at most " + props.transaction().maxBranches() + " are allowed");
            }
            for (BranchRegistration reg : inline) {
                inlineEntries.add(validatedBranch(tx.id, reg));
            }
        }
        boolean drive = false;
        CompletableFuture<Outcome> decision;
        synchronized (tx) {
            if (tx.state == TxState.ACTIVE) {
                if (!clock.instant().isBefore(tx.deadline)) {
                    beginAbort(tx, "the deadline " + tx.deadline + " passed before the commit request");
                } else {
                    for (BranchEntry e : inlineEntries) {
                        addBranch(tx, e);
                    }
                    tx.state = TxState.PREPARING;
                    undecidedCount.decrementAndGet();
                    if (tx.deadlineTimer != null) {
                        tx.deadlineTimer.cancel(false);
                    }
                    tx.deciding = true;
                    drive = true;
                }
            } else if (tx.state == TxState.PREPARING && !tx.deciding) {
                // A previous attempt ended with an unknown outcome; this request tries to learn it.
                tx.deciding = true;
                drive = true;
            }
            decision = tx.decision;
        }
        if (drive) {
            decide(tx);
        }
        Outcome outcome = await(tx, decision);
        if (outcome == Outcome.COMMITTED && waitForCompletion) {
            awaitCompletion(tx);
        }
        return new Decision(tx.id, outcome, reasonOf(tx), false);
    }

    private void decide(GlobalTransaction tx) {
        Outcome outcome;
        try {
            outcome = prepareAndDecide(tx);
        } catch (TransactionException e) {
            synchronized (tx) {
                tx.deciding = false;
                CompletableFuture<Outcome> failed = tx.decision;
                tx.decision = new CompletableFuture<>();
                failed.completeExceptionally(e);
            }
            return;
        } catch (RuntimeException e) {
            // A bug must not leave waiters hanging, and must not be read as an abort (S2).
            log.error("Deciding transaction {} failed unexpectedly; it stays undecided until a commit retry", tx.id, e);
            synchronized (tx) {
                tx.deciding = false;
                CompletableFuture<Outcome> failed = tx.decision;
                tx.decision = new CompletableFuture<>();
                failed.completeExceptionally(outcomeUnknown(tx, "an internal error: " + e));
            }
            return;
        }
        synchronized (tx) {
            tx.deciding = false;
            tx.decision.complete(outcome);
        }
    }

    private Outcome prepareAndDecide(GlobalTransaction tx) {
        CompletableFuture<Void> pendingAppend;
        LogRecord.Commit pendingRecord;
        boolean onePhaseRetry;
        List<BranchEntry> branches;
        synchronized (tx) {
            pendingAppend = tx.commitAppend;
            pendingRecord = tx.commitRecord;
            onePhaseRetry = tx.onePhaseUnknown;
            branches = new ArrayList<>(tx.branches.values());
        }
        if (pendingAppend != null && pendingAppend.isCompletedExceptionally() && pendingRecord != null) {
            // The earlier COMMIT append failed with an unknown outcome (S2): it may or may not be in
            // the log. Appending the same COMMIT again decides the same thing either way, so it is
            // safe, and it is what lets this transaction finish without a restart or a new leader
            // (a replicated log that lost its majority for a moment accepts appends again). A file
            // log that failed refuses every append, so there the outcome stays unknown.
            return appendCommitRecord(tx, pendingRecord);
        }
        if (pendingAppend != null) {
            return awaitCommitPoint(tx, pendingAppend);
        }
        if (branches.isEmpty()) {
            return finishWithoutLog(tx, "no branches");
        }
        if (onePhaseRetry || (branches.size() == 1 && branches.get(0).state == BranchState.ACTIVE)) {
            return onePhaseCommit(tx, branches.get(0));
        }
        Failpoints.hit(Failpoints.BEFORE_PREPARE, tx.id);
        String abortReason = collectVotes(tx, branches);
        if (abortReason != null) {
            synchronized (tx) {
                beginAbort(tx, abortReason);
            }
            return Outcome.ABORTED;
        }
        LogRecord.Commit record = null;
        synchronized (tx) {
            if (tx.rollbackOnly != null) {
                beginAbort(tx, tx.rollbackOnly);
                return Outcome.ABORTED;
            }
            List<LogRecord.Branch> toCommit = new ArrayList<>();
            for (BranchEntry b : tx.branches.values()) {
                if (b.state == BranchState.PREPARED) {
                    toCommit.add(new LogRecord.Branch(b.branchId, b.resource, b.callbackUrl));
                }
            }
            if (!toCommit.isEmpty()) {
                record = new LogRecord.Commit(tx.id, toCommit, clock.millis());
                tx.commitRecord = record; // commit chosen: see rolledBackBeforeDecision
            }
        }
        if (record == null) {
            return finishWithoutLog(tx, "every branch voted read-only");
        }
        return appendCommitRecord(tx, record);
    }

    /**
     * PREPARE to every ACTIVE branch in parallel (except one its participant reported committed); returns
     * null when all voted yes, else why not.
     */
    private String collectVotes(GlobalTransaction tx, List<BranchEntry> branches) {
        List<BranchEntry> toPrepare = new ArrayList<>();
        List<CompletableFuture<ParticipantGateway.VoteResult>> votes = new ArrayList<>();
        synchronized (tx) {
            for (BranchEntry b : branches) {
                if (b.state == BranchState.ACTIVE && b.reportedCommitted) {
                    // already committed at its resource, which is more than a yes vote: no PREPARE, and the
                    // decision settles it (committedBeforeDecision)
                    b.state = BranchState.PREPARED;
                } else if (b.state == BranchState.ACTIVE) {
                    b.prepareSent = true;
                    toPrepare.add(b);
                }
            }
        }
        for (BranchEntry b : toPrepare) {
            votes.add(gateway.prepare(b.callbackUrl, tx.id, b.branchId)
                    .orTimeout(props.participant().prepareTimeout().toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((v, e) -> Failpoints.hit(Failpoints.AFTER_PREPARE, tx.id)));
        }
        String abortReason = null;
        for (int i = 0; i < toPrepare.size(); i++) {
            BranchEntry b = toPrepare.get(i);
            ParticipantGateway.VoteResult vote;
            try {
                vote = votes.get(i).join();
            } catch (RuntimeException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                String why = cause instanceof TimeoutException
                        ? "no vote within " + props.participant().prepareTimeout()
                        : String.valueOf(cause.getMessage());
                if (abortReason == null) {
                    abortReason = "branch " + b.branchId + " (resource " + b.resource + ") did not vote: " + why;
                }
                continue;
            }
            synchronized (tx) {
                if (vote.vote() == Vote.COMMIT) {
                    b.state = BranchState.PREPARED;
                } else if (vote.vote() == Vote.READ_ONLY) {
                    b.state = BranchState.READ_ONLY;
                } else if (abortReason == null) {
                    abortReason = "branch " + b.branchId + " (resource " + b.resource + ") voted ABORT"
                            + (vote.reason() == null ? "" : ": " + vote.reason());
                }
            }
        }
        return abortReason;
    }

    /** The commit point: a forced COMMIT record. Nothing commits before it is durable (S1). */
    private Outcome appendCommitRecord(GlobalTransaction tx, LogRecord.Commit record) {
        Failpoints.hit(Failpoints.BEFORE_COMMIT_APPEND, tx.id);
        CompletableFuture<Void> append;
        try {
            append = decisionLog.appendInEpoch(record, epochOf(tx));
        } catch (RuntimeException e) {
            append = CompletableFuture.failedFuture(e);
        }
        synchronized (tx) {
            tx.commitAppend = append;
            tx.commitRecord = record;
        }
        return awaitCommitPoint(tx, append);
    }

    private static long epochOf(GlobalTransaction tx) {
        return tx.txid.epoch();
    }

    private Outcome awaitCommitPoint(GlobalTransaction tx, CompletableFuture<Void> append) {
        try {
            append.get(props.phaseTwo().appendTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw outcomeUnknown(tx, "the request was interrupted while the COMMIT record was being written");
        } catch (TimeoutException e) {
            throw outcomeUnknown(tx, "the COMMIT record was not durable within " + props.phaseTwo().appendTimeout());
        } catch (ExecutionException e) {
            log.error("COMMIT record of transaction {} may not be durable: {}. The transaction stays undecided (S2);"
                    + " it is decided from the log when the coordinator restarts.", tx.id, e.getCause().getMessage());
            throw outcomeUnknown(tx, "writing the COMMIT record failed (" + e.getCause().getMessage()
                    + "); the decision is made from the log after the coordinator restarts");
        }
        Failpoints.hit(Failpoints.AFTER_COMMIT_APPEND, tx.id);
        synchronized (tx) {
            tx.commitAppend = null;
            tx.commitRecord = null;
            tx.state = TxState.COMMITTING;
            tx.decidedAt = clock.instant();
            // branches their participants finished before the decision take their state now
            settleReportedOutcomes(tx, true);
        }
        phaseTwo.submit(tx);
        return Outcome.COMMITTED;
    }

    private Outcome onePhaseCommit(GlobalTransaction tx, BranchEntry only) {
        synchronized (tx) {
            tx.onePhaseUnknown = true;
        }
        String answer;
        try {
            answer = gateway.commit(only.callbackUrl, tx.id, only.branchId, true)
                    .orTimeout(props.participant().callTimeout().toMillis(), TimeUnit.MILLISECONDS).join();
        } catch (RuntimeException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw outcomeUnknown(tx, "the one-phase commit of its only branch " + only.branchId + " at "
                    + only.callbackUrl + " got no answer (" + cause + "); ask again to retry it");
        }
        synchronized (tx) {
            tx.onePhaseUnknown = false;
            tx.decidedAt = clock.instant();
            switch (answer) {
                case "COMMITTED" -> {
                    only.state = BranchState.COMMITTED;
                    tx.state = TxState.COMMITTED;
                }
                case "ROLLED_BACK" -> {
                    only.state = BranchState.ROLLED_BACK;
                    tx.state = TxState.ABORTED;
                    tx.reason = "the only branch " + only.branchId + " rolled back in its one-phase commit";
                }
                default -> {
                    // The participant forgot the branch: it never prepared, so its resource rolled it back (S7).
                    only.state = BranchState.ROLLED_BACK;
                    tx.state = TxState.ABORTED;
                    tx.reason = "participant of branch " + only.branchId + " does not know it (answered " + answer + ")";
                }
            }
        }
        finished(tx);
        return tx.state == TxState.COMMITTED ? Outcome.COMMITTED : Outcome.ABORTED;
    }

    private Outcome finishWithoutLog(GlobalTransaction tx, String why) {
        synchronized (tx) {
            tx.state = TxState.COMMITTED;
            tx.decidedAt = clock.instant();
            tx.reason = why;
        }
        finished(tx);
        return Outcome.COMMITTED;
    }

    private TransactionException outcomeUnknown(GlobalTransaction tx, String why) {
        return new TransactionException(Kind.OUTCOME_UNKNOWN, tx.id, TxState.PREPARING, "the outcome of transaction "
                + tx.id + " is not known yet: " + why + ". It is neither committed nor rolled back by this;"
                + " repeat the commit request to learn the outcome.");
    }

    private Outcome await(GlobalTransaction tx, CompletableFuture<Outcome> decision) {
        try {
            return decision.get(props.participant().prepareTimeout().plus(props.phaseTwo().appendTimeout())
                    .plusSeconds(5).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw outcomeUnknown(tx, "the request was interrupted");
        } catch (TimeoutException e) {
            throw outcomeUnknown(tx, "another request is still deciding it");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TransactionException te) {
                throw te;
            }
            throw outcomeUnknown(tx, String.valueOf(e.getCause()));
        }
    }

    private void awaitCompletion(GlobalTransaction tx) {
        try {
            tx.completion.get(props.participant().callTimeout().toMillis() * 3, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // The decision stands; phase 2 keeps retrying in the background and GET shows its progress.
        }
    }

    // ------------------------------------------------------------------ rollback, deadline, completion reports

    public Decision rollback(String txid) {
        Lookup found = lookup(txid);
        if (found.tx == null) {
            Decision d = found.asDecision(txid);
            if (d.outcome() == Outcome.COMMITTED) {
                throw new TransactionException(Kind.ALREADY_COMMITTED, txid, TxState.COMMITTED,
                        "transaction " + txid + " is already committed and cannot be rolled back");
            }
            return d;
        }
        GlobalTransaction tx = found.tx;
        synchronized (tx) {
            switch (tx.state) {
                case ACTIVE -> beginAbort(tx, "rolled back by the client");
                case PREPARING -> throw new TransactionException(Kind.NOT_ACTIVE, tx.id, tx.state, "transaction "
                        + tx.id + " is being committed and its outcome is not known yet: repeat the commit request"
                        + " to learn it instead of rolling back");
                case COMMITTING, COMMITTED, HEURISTIC_COMMIT, HEURISTIC_MIXED, HEURISTIC_ROLLBACK ->
                        throw new TransactionException(Kind.ALREADY_COMMITTED, tx.id, tx.state, "transaction " + tx.id
                                + " is already committed (state " + tx.state + ") and cannot be rolled back");
                default -> {
                    // ABORTING or ABORTED: idempotent
                }
            }
        }
        return new Decision(tx.id, Outcome.ABORTED, reasonOf(tx), false);
    }

    private void expire(GlobalTransaction tx) {
        synchronized (tx) {
            if (tx.state == TxState.ACTIVE) {
                beginAbort(tx, "its deadline " + tx.deadline + " passed before commit");
            }
        }
    }

    /** S4: the abort decision is made under the same lock that refuses a commit. Caller holds the monitor. */
    private void beginAbort(GlobalTransaction tx, String reason) {
        assert Thread.holdsLock(tx);
        if (tx.state == TxState.ACTIVE) {
            undecidedCount.decrementAndGet();
        }
        if (tx.deadlineTimer != null) {
            tx.deadlineTimer.cancel(false);
        }
        tx.state = TxState.ABORTING;
        tx.reason = reason;
        settleReportedOutcomes(tx, false); // nothing left to roll back (or to undo) there
        tx.decidedAt = clock.instant();
        tx.decision.complete(Outcome.ABORTED);
        log.info("Transaction {} aborts: {}", tx.id, reason);
        scheduler.execute(() -> phaseTwo.submit(tx));
    }

    public void reportCompletion(String txid, String branchId, BranchState outcome) {
        if (outcome != BranchState.COMMITTED && outcome != BranchState.ROLLED_BACK) {
            throw new TransactionException(Kind.MALFORMED, txid, "a completion report's outcome must be COMMITTED or ROLLED_BACK");
        }
        Lookup found = lookup(txid);
        if (found.tx == null) {
            return; // already completed and forgotten: nothing to do, and the report is idempotent
        }
        if (outcome == BranchState.ROLLED_BACK && rolledBackBeforeDecision(found.tx, branchId)) {
            return;
        }
        if (outcome == BranchState.COMMITTED && committedBeforeDecision(found.tx, branchId)) {
            return;
        }
        phaseTwo.reported(found.tx, branchId, outcome);
    }

    /**
     * A branch rolled back before the decision can never commit, so neither can its transaction:
     * an ACTIVE one aborts now, one whose votes are being collected aborts instead of writing its
     * COMMIT record, and if that record is already being written the branch ends as a heuristic
     * rollback once it is durable. Returns false when the transaction was already decided, which
     * the phase-2 driver handles.
     */
    private boolean rolledBackBeforeDecision(GlobalTransaction tx, String branchId) {
        synchronized (tx) {
            BranchEntry b = tx.branches.get(branchId);
            if (b == null || b.state.isFinished() || (tx.state != TxState.ACTIVE && tx.state != TxState.PREPARING)) {
                return false;
            }
            b.reportedRolledBack = true;
            String reason = "branch " + b.branchId + " (resource " + b.resource + ") was reported rolled back by its"
                    + " participant before the transaction was decided";
            if (tx.state == TxState.ACTIVE) {
                beginAbort(tx, reason);
            } else if (tx.commitRecord == null && tx.rollbackOnly == null) {
                tx.rollbackOnly = reason;
            }
            log.warn("Transaction {}: {}{}", tx.id, reason, tx.state == TxState.ABORTING ? "; it aborts"
                    : tx.commitRecord != null ? "; its COMMIT record is already being written, so the branch becomes a heuristic"
                    + " rollback if that record is durable"
                    : tx.onePhaseUnknown ? "; the one-phase commit of that branch decides"
                    : "; the commit in progress aborts");
            return true;
        }
    }

    /**
     * A branch its participant committed before the decision (a participant that did not wait for phase 2,
     * or the answer of a one-phase commit arriving as a report). Nothing is decided on that word: the branch
     * is settled when the transaction is, COMMITTED if it commits (no commit call needed) and
     * HEURISTIC_COMMIT if it aborts. Returns false when the transaction was already decided.
     */
    private boolean committedBeforeDecision(GlobalTransaction tx, String branchId) {
        synchronized (tx) {
            BranchEntry b = tx.branches.get(branchId);
            if (b == null || b.state.isFinished() || (tx.state != TxState.ACTIVE && tx.state != TxState.PREPARING)) {
                return false;
            }
            b.reportedCommitted = true;
            log.warn("Transaction {}: branch {} (resource {}) was reported committed by its participant before the"
                    + " transaction was decided; it ends COMMITTED if the transaction commits and HEURISTIC_COMMIT if"
                    + " it aborts", tx.id, b.branchId, b.resource);
            return true;
        }
    }

    /**
     * Gives the branches their participants reported finished before the decision their state once it is
     * made ({@code committing} or aborting); the caller holds tx.
     */
    private static void settleReportedOutcomes(GlobalTransaction tx, boolean committing) {
        for (BranchEntry b : tx.branches.values()) {
            if (b.state.isFinished()) {
                continue;
            }
            if (b.reportedRolledBack) {
                b.state = committing ? BranchState.HEURISTIC_ROLLBACK : BranchState.ROLLED_BACK;
                if (committing) {
                    b.lastError = "its participant reported the branch rolled back while the COMMIT record was being"
                            + " written: a heuristic rollback against the decision";
                }
            } else if (b.reportedCommitted) {
                b.state = committing ? BranchState.COMMITTED : BranchState.HEURISTIC_COMMIT;
                if (!committing) {
                    b.lastError = "its participant reported the branch committed before the transaction was decided,"
                            + " and the transaction aborted: a heuristic commit against the decision";
                }
            }
        }
    }

    /** Called by the phase-2 driver and the engine when a transaction reached a terminal state. */
    void finished(GlobalTransaction tx) {
        finishedOrder.add(tx.id);
        // ConcurrentLinkedQueue.size() walks the whole queue: keep our own count
        int excess = finishedCount.incrementAndGet() - props.transaction().historySize();
        for (int i = 0; i < excess; i++) {
            String old = finishedOrder.poll();
            if (old != null) {
                finishedCount.decrementAndGet();
                table.remove(old);
            }
        }
    }

    // ------------------------------------------------------------------ queries

    public TransactionSnapshot view(String txid) {
        Lookup found = lookup(txid);
        if (found.tx == null) {
            Decision d = found.asDecision(txid);
            return TransactionSnapshot.presumed(txid, d.outcome() == Outcome.COMMITTED ? TxState.COMMITTED : TxState.ABORTED,
                    d.presumed(), d.reason());
        }
        return TransactionSnapshot.of(found.tx);
    }

    /** Transactions matching the filter, oldest txid first, starting after {@code afterTxid}. */
    public List<TransactionSnapshot> list(Predicate<TransactionSnapshot> filter, String afterTxid, int limit) {
        Comparator<GlobalTransaction> order = Comparator.comparingLong((GlobalTransaction t) -> t.txid.epoch())
                .thenComparingLong(t -> t.txid.seq());
        Txid after = afterTxid == null ? null : Txid.parse(afterTxid);
        return table.values().stream()
                .filter(t -> after == null || t.txid.epoch() > after.epoch()
                        || (t.txid.epoch() == after.epoch() && t.txid.seq() > after.seq()))
                .sorted(order)
                .map(TransactionSnapshot::of)
                .filter(filter)
                .limit(limit)
                .toList();
    }

    /** What the engine knows of a txid's outcome, for the orphan scanner (safety rule S5). */
    public enum Fate {
        /** Not decided yet (ACTIVE, or PREPARING with an unknown outcome): never touch its branches. */
        IN_PROGRESS,
        /** A COMMIT record exists: every branch must commit. */
        COMMITTED,
        /** Decided abort, or presumed aborted (an older epoch with no COMMIT record, S3). */
        ABORTED,
        /** This epoch's txid that the engine no longer (or never) knew: an operator decides. */
        UNKNOWN
    }

    public Fate fateOf(String txid) {
        Txid parsed;
        try {
            parsed = Txid.parse(txid);
        } catch (TransactionException e) {
            return Fate.UNKNOWN;
        }
        if (!parsed.clusterId().equals(props.clusterId())) {
            return Fate.UNKNOWN;
        }
        GlobalTransaction tx = table.get(txid);
        if (tx != null) {
            synchronized (tx) {
                Outcome decided = tx.decision.getNow(null);
                if (decided == Outcome.COMMITTED || tx.state == TxState.COMMITTING) {
                    return Fate.COMMITTED;
                }
                if (decided == Outcome.ABORTED) {
                    return Fate.ABORTED;
                }
                return Fate.IN_PROGRESS;
            }
        }
        if (decisionLog.table().isPending(txid) || decisionLog.table().wasCompleted(txid)) {
            return Fate.COMMITTED;
        }
        return parsed.epoch() < epoch ? Fate.ABORTED : Fate.UNKNOWN;
    }

    /** One branch as an operator's heuristic action sees it; the last three are null when the engine does not hold it. */
    public record OperatorView(Fate fate, TxState txState, String resource, BranchState branchState) {
    }

    public OperatorView operatorView(String txid, String branchId) {
        Fate fate = fateOf(txid);
        GlobalTransaction tx = table.get(txid);
        if (tx == null) {
            return new OperatorView(fate, null, null, null);
        }
        synchronized (tx) {
            BranchEntry b = tx.branches.get(branchId);
            return new OperatorView(fate, tx.state, b == null ? null : b.resource, b == null ? null : b.state);
        }
    }

    /**
     * An operator's action on a branch ended with the recorded {@code outcome} ({@link OperatorAction#outcomeOf}):
     * a branch in phase 2 takes the state {@link OperatorAction#branchStateAfterOutcome} gives, the same as at a
     * replay, phase 2 stops driving it, and the transaction ends once all its branches have. Returns the
     * transaction as it is now, or null when the engine does not hold it.
     */
    public TransactionSnapshot settleByOperator(String txid, String branchId, OperatorAction action, String outcome,
                                                String note) {
        GlobalTransaction tx = table.get(txid);
        if (tx == null) {
            return null;
        }
        if (applyOperatorResult(tx, branchId, action, outcome, note)) {
            phaseTwo.finishIfDone(tx);
        }
        return TransactionSnapshot.of(tx);
    }

    /** True while the phase-2 driver owns this branch (so a recovery scan must leave it alone). */
    public boolean isDriving(String txid, String branchId) {
        GlobalTransaction tx = table.get(txid);
        if (tx == null) {
            return false;
        }
        synchronized (tx) {
            BranchEntry b = tx.branches.get(branchId);
            return b != null && !b.state.isFinished()
                    && (tx.state == TxState.COMMITTING || tx.state == TxState.ABORTING);
        }
    }

    /** Decided transactions whose phase 2 (or rollback) is not finished, oldest decision first. */
    public List<TransactionSnapshot> inDoubt() {
        return table.values().stream()
                .filter(t -> {
                    TxState s = t.state();
                    return s == TxState.COMMITTING || s == TxState.ABORTING;
                })
                .map(TransactionSnapshot::of)
                .sorted(Comparator.comparing(TransactionSnapshot::decidedAt, Comparator.nullsFirst(Comparator.naturalOrder())))
                .toList();
    }

    /** Operator action: retry every unfinished branch of a decided transaction now. */
    public TransactionSnapshot retryNow(String txid) {
        Lookup found = lookup(txid);
        if (found.tx == null) {
            throw new TransactionException(Kind.NOT_ACTIVE, txid, "transaction " + txid
                    + " has no phase 2 in progress here: nothing to retry");
        }
        TxState s = found.tx.state();
        if (s != TxState.COMMITTING && s != TxState.ABORTING) {
            throw new TransactionException(Kind.NOT_ACTIVE, txid, s, "transaction " + txid + " is " + s
                    + ": only COMMITTING or ABORTING transactions have branches to retry");
        }
        phaseTwo.retryNow(found.tx);
        return TransactionSnapshot.of(found.tx);
    }

    public int undecidedCount() {
        return undecidedCount.get();
    }

    public int inDoubtCount() {
        return (int) table.values().stream().filter(t -> {
            TxState s = t.state();
            return s == TxState.COMMITTING || s == TxState.ABORTING;
        }).count();
    }

    public PhaseTwoDriver phaseTwo() {
        return phaseTwo;
    }

    private static String reasonOf(GlobalTransaction tx) {
        synchronized (tx) {
            return tx.state == TxState.ABORTING || tx.state == TxState.ABORTED ? tx.reason : null;
        }
    }

    private void requireStarted() {
        if (!holdsLease()) {
            // nothing was decided or issued by this request: no-leader, not outcome-unknown
            throw new TransactionException(Kind.NO_LEADER, null, "this coordinator is not the ready leader (it is"
                    + " starting, electing, or was deposed): retry shortly, or send the request to the leader named by"
                    + " GET /api/v1/cluster");
        }
    }

    private GlobalTransaction requireLive(String txid) {
        Lookup found = lookup(txid);
        if (found.tx == null) {
            Decision d = found.asDecision(txid);
            throw new TransactionException(Kind.NOT_ACTIVE, txid, d.outcome() == Outcome.COMMITTED ? TxState.COMMITTED
                    : TxState.ABORTED, "transaction " + txid + " is no longer active (" + d.outcome()
                    + (d.presumed() ? ", presumed: it was issued before this coordinator's epoch " + epoch : "")
                    + "): begin a new transaction");
        }
        return found.tx;
    }

    private void requireActiveForChange(GlobalTransaction tx) {
        assert Thread.holdsLock(tx);
        if (tx.state == TxState.ACTIVE && !clock.instant().isBefore(tx.deadline)) {
            beginAbort(tx, "its deadline " + tx.deadline + " passed");
        }
        if (tx.state != TxState.ACTIVE) {
            throw new TransactionException(Kind.NOT_ACTIVE, tx.id, tx.state, "transaction " + tx.id + " is "
                    + tx.state + ", not ACTIVE: branches can only join an active transaction; begin a new one");
        }
    }

    /**
     * Finds a transaction. For a txid not in the table: S3 — an older epoch's txid is aborted unless
     * the log holds its COMMIT (pending ones are in the table since start-up; completed ones are
     * remembered by the decision table).
     */
    private Lookup lookup(String txid) {
        requireStarted();
        Txid parsed = Txid.parse(txid);
        if (!parsed.clusterId().equals(props.clusterId())) {
            throw new TransactionException(Kind.NOT_FOUND, txid, "transaction " + txid + " belongs to cluster '"
                    + parsed.clusterId() + "', not to this coordinator's cluster '" + props.clusterId()
                    + "': send it to its own coordinator");
        }
        GlobalTransaction tx = table.get(txid);
        if (tx != null) {
            return new Lookup(tx, null);
        }
        if (decisionLog.table().wasCompleted(txid) || decisionLog.table().isPending(txid)) {
            return new Lookup(null, Outcome.COMMITTED);
        }
        if (parsed.epoch() < epoch) {
            return new Lookup(null, Outcome.ABORTED);
        }
        if (parsed.epoch() == epoch && parsed.seq() <= seq.get()) {
            throw new TransactionException(Kind.NOT_FOUND, txid, "transaction " + txid + " was decided long enough"
                    + " ago to leave the in-memory history (pledge.transaction.history-size)");
        }
        throw new TransactionException(Kind.NOT_FOUND, txid, "transaction " + txid + " was never issued by this"
                + " coordinator (current epoch " + epoch + "): check the txid");
    }

    private record Lookup(GlobalTransaction tx, Outcome known) {
        Decision asDecision(String txid) {
            boolean presumed = known == Outcome.ABORTED;
            return new Decision(txid, known, presumed ? "presumed abort: no COMMIT record for this txid of an earlier epoch" : null, presumed);
        }
    }

    /** The answer to commit and rollback. */
    public record Decision(String txid, Outcome outcome, String reason, boolean presumed) {
    }
}
