package dev.pledge.sdk.jta;

import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.ParticipantCalls.PhaseTwoResponse;
import dev.pledge.protocol.ParticipantCalls.VoteResponse;
import dev.pledge.protocol.ProblemTypes;
import dev.pledge.protocol.Vote;
import dev.pledge.sdk.client.PledgeException;
import dev.pledge.xa.XidCodec;
import jakarta.transaction.InvalidTransactionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.transaction.xa.XAException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The transactions this service joined because a request carried their txid ({@code Pledge-Txid}): the
 * receiving side of propagation (DESIGN.md §4 "Two ways a branch gets prepared", §7).
 *
 * <ul>
 * <li>{@link #enter} associates the request's thread with the joined transaction (the same object for every
 * request of one txid, one request at a time); the SDK's pools then enlist in it as usual.</li>
 * <li>{@link JoinedRequest#exit} at the end of the request, in {@link Mode#PARKED} mode (the default), ends
 * the branches ({@code TMSUCCESS}) and parks them with their connections, out of the pool: the branches
 * were registered ACTIVE with this service's callback URL at their first enlistment, and the coordinator
 * prepares and finishes them through the callbacks. In {@link Mode#EARLY_PREPARE} mode it prepares them
 * right away and registers them PREPARED, with the callback URL for phase 2.</li>
 * <li>{@link #prepare}, {@link #commit}, {@link #rollback} serve the participant callbacks. All are
 * idempotent: finished branches are remembered for {@link #REMEMBER_FOR}.</li>
 * <li>A transaction whose deadline passed with no decision rolls back its unprepared branches here and
 * frees their connections, {@code expiryGrace} after the deadline; a prepared branch is held for its phase
 * 2 at most {@code preparedHold} longer, then left to the coordinator (XA bridging).</li>
 * </ul>
 *
 * <p>Bounded: at most {@code maxJoined} transactions at once (each holds at most one parked connection per
 * pool), {@link #MAX_REMEMBERED} remembered outcomes. Thread-safe; one instance per transaction manager.
 */
public final class JoinedTransactions implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JoinedTransactions.class);

    /** How long finished branches are remembered, so a repeated callback gets the same answer. */
    public static final Duration REMEMBER_FOR = Duration.ofMinutes(10);
    public static final int MAX_REMEMBERED = 10_000;
    /** How long a callback waits for a request of the same transaction to finish before it answers busy. */
    static final Duration CALLBACK_WAIT = Duration.ofSeconds(5);
    /** How long a request waits for another request of the same transaction (at most until the deadline). */
    static final Duration REQUEST_WAIT = Duration.ofSeconds(30);
    /** A deadline hint further away than this is not believed. */
    private static final Duration MAX_DEADLINE_HINT = Duration.ofDays(1);
    /** 36^5: branch numbers wrap here, so "j" + at most 5 base-36 digits keeps branch ids within 64 characters. */
    private static final long BRANCH_NUMBERS = 60_466_176L;
    private static final long BUSY_RETRY_MS = 1_000;

    /** How a joined service's branches get prepared (DESIGN.md §4). */
    public enum Mode {
        /** Coordinator-driven: registered ACTIVE with the callback URL, parked between requests, prepared on PREPARE. */
        PARKED,
        /** Prepared at the end of each request and registered PREPARED (with the callback URL for phase 2). */
        EARLY_PREPARE
    }

    /**
     * @param mode         {@link Mode#PARKED} or {@link Mode#EARLY_PREPARE}
     * @param callbackUrl  this service's participant callback base URL (asked at each registration, so it may
     *                     be resolved late, e.g. once the web server knows its port)
     * @param maxJoined    transactions joined at once; a request for one more is refused (503)
     * @param expiryGrace  after a transaction's deadline, how long the coordinator's rollback is awaited before
     *                     unprepared branches are rolled back here
     * @param preparedHold how long after that a prepared branch waits for its phase 2 before it is left to the
     *                     coordinator (which then finishes it at the resource)
     */
    public record Settings(Mode mode, Supplier<String> callbackUrl, int maxJoined, Duration expiryGrace,
                           Duration preparedHold) {
        public static final int MAX_JOINED_LIMIT = 100_000;

        public Settings {
            if (mode == null) {
                throw new IllegalArgumentException("pledge.participant.join-mode is missing: use parked or early-prepare");
            }
            if (callbackUrl == null) {
                throw new IllegalArgumentException("pledge.participant.callback-url: no way to find this service's"
                        + " callback URL");
            }
            if (maxJoined < 1 || maxJoined > MAX_JOINED_LIMIT) {
                throw new IllegalArgumentException("pledge.participant.max-joined=" + maxJoined
                        + " is out of range: use 1.." + MAX_JOINED_LIMIT);
            }
            if (expiryGrace == null || expiryGrace.isNegative()) {
                throw new IllegalArgumentException("expiry grace " + expiryGrace + " is invalid: use 0 or more");
            }
            if (preparedHold == null || preparedHold.isNegative()) {
                throw new IllegalArgumentException("prepared hold " + preparedHold + " is invalid: use 0 or more");
            }
        }

        /** Parked mode, 256 transactions, 5 s grace after the deadline, prepared branches held 60 s longer. */
        public static Settings defaults(Supplier<String> callbackUrl) {
            return new Settings(Mode.PARKED, callbackUrl, 256, Duration.ofSeconds(5), Duration.ofSeconds(60));
        }

        public Settings withMode(Mode m) {
            return new Settings(m, callbackUrl, maxJoined, expiryGrace, preparedHold);
        }

        public Settings withMaxJoined(int n) {
            return new Settings(mode, callbackUrl, n, expiryGrace, preparedHold);
        }

        public Settings withExpiryGrace(Duration d) {
            return new Settings(mode, callbackUrl, maxJoined, d, preparedHold);
        }

        public Settings withPreparedHold(Duration d) {
            return new Settings(mode, callbackUrl, maxJoined, expiryGrace, d);
        }
    }

    private record Remembered(Branch.State state, long atNanos) {
    }

    private final PledgeTransactionManager tm;
    private final Settings settings;
    private final ConcurrentHashMap<String, JoinedTransaction> live = new ConcurrentHashMap<>();
    /** Finished branches ("txid/branchId") and ended transactions ("txid"); guarded by itself. */
    private final Map<String, Remembered> recent = new LinkedHashMap<>(256, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Remembered> eldest) {
            return size() > MAX_REMEMBERED;
        }
    };
    private final ScheduledExecutorService timers;
    private final AtomicLong branchNumbers = new AtomicLong();
    private volatile boolean closed;

    public JoinedTransactions(PledgeTransactionManager tm, Settings settings) {
        this.tm = tm;
        this.settings = settings;
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pledge-joined-deadlines");
            t.setDaemon(true);
            return t;
        });
        log.info("Joining transactions from other services: mode {}, at most {} at once", settings.mode(),
                settings.maxJoined());
    }

    public Settings settings() {
        return settings;
    }

    Mode mode() {
        return settings.mode();
    }

    String callbackUrl() {
        return settings.callbackUrl().get();
    }

    long nextBranchNumber() {
        return branchNumbers.incrementAndGet() % BRANCH_NUMBERS;
    }

    void register(String txid, BranchRegistration registration) {
        tm.client().registerBranch(txid, registration);
    }

    /** Transactions joined now. */
    public int joinedCount() {
        return live.size();
    }

    /** Branches of joined transactions that still hold a connection (parked, or prepared awaiting phase 2). */
    public int heldBranchCount() {
        int n = 0;
        for (JoinedTransaction tx : live.values()) {
            n += tx.heldBranches();
        }
        return n;
    }

    /** The branch ids this service holds in a joined transaction now (empty if it holds none). */
    public List<String> heldBranchIds(String txid) {
        JoinedTransaction tx = live.get(txid);
        return tx == null ? List.of() : tx.branchIds();
    }

    // ------------------------------------------------------------------ requests

    /**
     * Joins the calling thread to transaction {@code txid} for one request: the same joined transaction for
     * every request of that txid, one request at a time. Pair with {@link JoinedRequest#exit} on the same thread.
     *
     * @param deadlineHint the transaction's deadline if the caller sent it (may be null: the default timeout applies)
     * @throws ParticipantException 400 for a malformed txid, 409 when the transaction is completing or ended
     *                              here, 503 when too many are joined or another request holds it too long
     * @throws IllegalStateException when the thread is already in a transaction
     */
    public JoinedRequest enter(String txid, Instant deadlineHint) {
        if (!XidCodec.isValidTxid(txid)) {
            throw new ParticipantException(400, ProblemTypes.INVALID_TXID, null, false, "Pledge-Txid '"
                    + abbreviate(txid) + "' is not a Pledge txid (<clusterId>:<epoch>:<seq>)", null);
        }
        if (closed) {
            throw ParticipantException.retryLater(txid, "this service is shutting down: it joins no transaction", null);
        }
        PledgeTransaction current = tm.getTransaction();
        if (current != null) {
            throw new IllegalStateException("thread " + Thread.currentThread().getName() + " is already in transaction "
                    + current.txid() + " and cannot join " + txid + ": a request thread must start without one");
        }
        long started = System.nanoTime();
        while (true) {
            JoinedTransaction tx = live.get(txid);
            if (tx == null) {
                tx = joinNew(txid, deadlineHint);
            }
            long waitNanos = Math.min(REQUEST_WAIT.toNanos(),
                    Math.max(0, Duration.between(Instant.now(), tx.deadline()).toNanos())) - (System.nanoTime() - started);
            boolean locked;
            try {
                locked = tx.work.tryLock(Math.max(0, waitNanos), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ParticipantException.retryLater(txid, "interrupted while waiting to join transaction " + txid, e);
            }
            if (!locked) {
                throw ParticipantException.retryLater(txid, "another request of transaction " + txid + " is still"
                        + " working in this service: requests of one transaction run here one at a time; retry", null);
            }
            if (tx.isFinished()) {
                tx.work.unlock(); // ended while we waited: look again
                continue;
            }
            if (!tx.acceptsRequests()) {
                tx.work.unlock();
                throw ParticipantException.notActive(txid, "transaction " + txid + " is completing or rolling back in"
                        + " this service (the coordinator is deciding it, its deadline passed, or it is rollback-only):"
                        + " no more work can join it");
            }
            try {
                tm.resume(tx);
            } catch (InvalidTransactionException | IllegalStateException e) {
                tx.work.unlock();
                throw new IllegalStateException("could not associate thread " + Thread.currentThread().getName()
                        + " with joined transaction " + txid + ": " + e.getMessage(), e);
            }
            return new JoinedRequest(tx);
        }
    }

    private JoinedTransaction joinNew(String txid, Instant deadlineHint) {
        Remembered ended = remembered(txid);
        if (ended != null) {
            throw ParticipantException.notActive(txid, "transaction " + txid + " already ended in this service ("
                    + ended.state() + "): no more work can join it; begin a new transaction");
        }
        AtomicBoolean created = new AtomicBoolean();
        JoinedTransaction tx = live.computeIfAbsent(txid, id -> {
            if (live.size() >= settings.maxJoined()) {
                throw new ParticipantException(503, ProblemTypes.LIMIT_EXCEEDED, id, true, "this service already"
                        + " works in " + settings.maxJoined() + " transactions of other services"
                        + " (pledge.participant.max-joined): retry shortly", null);
            }
            created.set(true);
            return new JoinedTransaction(tm, id, deadline(deadlineHint), this);
        });
        if (created.get()) {
            long delay = Duration.between(Instant.now(), tx.deadline()).plus(settings.expiryGrace()).toMillis();
            schedule(tx, () -> onDeadline(tx), Math.max(0, delay));
        }
        return tx;
    }

    private Instant deadline(Instant hint) {
        Instant now = Instant.now();
        if (hint != null && hint.isAfter(now) && hint.isBefore(now.plus(MAX_DEADLINE_HINT))) {
            return hint;
        }
        return now.plus(tm.settings().defaultTimeout());
    }

    /** One request's stay in a joined transaction, from {@link #enter} to {@link #exit}. */
    public final class JoinedRequest {
        private final JoinedTransaction tx;
        private boolean exited;

        private JoinedRequest(JoinedTransaction tx) {
            this.tx = tx;
        }

        public String txid() {
            return tx.txid();
        }

        public PledgeTransaction transaction() {
            return tx;
        }

        /**
         * Ends the request's part: detaches the thread, then parks the branches (parked mode) or prepares and
         * registers them (early prepare). A {@code failure} (the request ended with an exception), or a
         * transaction marked rollback-only, rolls this service's work back and asks the coordinator to roll
         * the transaction back. Never throws.
         *
         * @return null, or a refusal to answer instead of the application's response: this service's work
         * could not be kept, and the caller must not commit
         */
        public ParticipantException exit(Throwable failure) {
            if (exited) {
                return null;
            }
            exited = true;
            try {
                PledgeTransaction current = tm.getTransaction();
                if (current != tx && current != null) {
                    log.warn("A request of joined transaction {} left thread {} in transaction {}; detaching it",
                            tx.txid(), Thread.currentThread().getName(), current.txid());
                }
                tm.suspend();
                return endOfRequest(tx, failure);
            } catch (RuntimeException | Error e) {
                log.error("Ending a request of joined transaction {} failed", tx.txid(), e);
                return new ParticipantException(500, ProblemTypes.INTERNAL_ERROR, tx.txid(), false, "ending this"
                        + " service's part of transaction " + tx.txid() + " failed: " + e, e);
            } finally {
                tx.work.unlock();
            }
        }
    }

    private ParticipantException endOfRequest(JoinedTransaction tx, Throwable failure) {
        String txid = tx.txid();
        if (failure != null) {
            tx.markRollbackOnlyAfterFailure(failure);
        }
        tx.endBranches();
        if (tx.isRollbackOnly()) {
            tx.rollbackUnprepared();
            abortAtCoordinator(tx, "this service's part failed or was marked rollback-only");
            finishIfDone(tx);
            return null; // the application's own answer says what went wrong
        }
        if (!tx.hasBranches()) {
            finishIfDone(tx); // nothing to hold; a later request of the txid joins afresh
            return null;
        }
        if (settings.mode() == Mode.PARKED) {
            return null; // parked until the coordinator's callbacks or the deadline
        }
        List<Branch> prepared;
        try {
            prepared = tx.prepareEnded();
        } catch (XAException e) {
            abortAtCoordinator(tx, "early prepare failed");
            finishIfDone(tx);
            return ParticipantException.notActive(txid, "early prepare of this service's work in transaction " + txid
                    + " failed (" + e + "); the work was rolled back and the transaction rolls back");
        }
        String callbackUrl;
        try {
            callbackUrl = callbackUrl();
        } catch (RuntimeException e) {
            tx.rollbackRefused(prepared);
            tx.markRollbackOnlyAfterFailure(e);
            abortAtCoordinator(tx, "no callback URL");
            finishIfDone(tx);
            return new ParticipantException(500, ProblemTypes.INTERNAL_ERROR, txid, false, "this service's work in"
                    + " transaction " + txid + " was rolled back: " + e.getMessage(), e);
        }
        List<Branch> registered = new ArrayList<>();
        List<Branch> refused = new ArrayList<>();
        List<Branch> unknown = new ArrayList<>();
        RuntimeException last = null;
        for (Branch b : prepared) {
            try {
                register(txid, new BranchRegistration(b.branchId(), b.resourceName(), BranchState.PREPARED, callbackUrl));
                registered.add(b);
            } catch (PledgeException e) {
                last = e;
                (e.isRefusal() ? refused : unknown).add(b);
            } catch (RuntimeException e) {
                last = e;
                unknown.add(b);
            }
        }
        tx.markRegistered(registered);
        // A branch whose registration outcome is unknown may be known to the coordinator: it stays prepared
        // (never roll back what may commit) until a callback, or the hold runs out.
        tx.markRegistered(unknown);
        ParticipantException refusal = null;
        if (!refused.isEmpty()) {
            tx.rollbackRefused(refused);
            tx.markRollbackOnlyAfterFailure(last);
            abortAtCoordinator(tx, "the coordinator refused a branch");
            refusal = ParticipantException.notActive(txid, "the coordinator refused this service's prepared work in"
                    + " transaction " + txid + " (" + last.getMessage() + "); it was rolled back");
        } else if (!unknown.isEmpty()) {
            tx.markRollbackOnlyAfterFailure(last);
            abortAtCoordinator(tx, "a branch registration got no answer");
            refusal = ParticipantException.retryLater(txid, "this service's prepared work in transaction " + txid
                    + " could not be registered with the coordinator (" + last.getMessage() + "); the transaction"
                    + " must roll back", last);
        }
        finishIfDone(tx);
        return refusal;
    }

    /** Asks the coordinator to roll the transaction back now, so its other participants stop waiting. */
    private void abortAtCoordinator(JoinedTransaction tx, String why) {
        try {
            tm.client().rollback(tx.txid());
            log.info("Joined transaction {} rolls back: {}", tx.txid(), why);
        } catch (RuntimeException e) {
            log.warn("Could not ask the coordinator to roll back transaction {} ({}): {}. Its branches here vote"
                    + " ABORT, so it cannot commit with them", tx.txid(), why, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ participant callbacks

    /** {@code POST {callback}/prepare}: the vote of a parked branch (XA prepare on its connection). */
    public VoteResponse prepare(String txid, String branchId) {
        requireIds(txid, branchId);
        JoinedTransaction tx = live.get(txid);
        if (tx == null) {
            return voteFromMemory(txid, branchId);
        }
        if (!lock(tx, CALLBACK_WAIT)) {
            return new VoteResponse(Vote.ABORT, "a request of transaction " + txid + " was still working in this"
                    + " service after " + CALLBACK_WAIT.toSeconds() + " s: its work cannot be prepared");
        }
        try {
            Branch b = tx.isFinished() ? null : tx.branch(branchId);
            if (b == null) {
                return voteFromMemory(txid, branchId);
            }
            VoteResponse vote = tx.prepare(b);
            finishIfDone(tx);
            return vote;
        } finally {
            tx.work.unlock();
        }
    }

    /** {@code POST {callback}/commit}; UNKNOWN_BRANCH for a branch this service does not hold. */
    public PhaseTwoResponse commit(String txid, String branchId, boolean onePhase) {
        requireIds(txid, branchId);
        JoinedTransaction tx = live.get(txid);
        if (tx == null) {
            return phaseTwoFromMemory(txid, branchId, true);
        }
        if (!lock(tx, CALLBACK_WAIT)) {
            throw ParticipantException.retryLater(txid, "a request of transaction " + txid + " is still working in"
                    + " this service; retry the commit", null);
        }
        try {
            Branch b = tx.isFinished() ? null : tx.branch(branchId);
            if (b == null) {
                return phaseTwoFromMemory(txid, branchId, true);
            }
            try {
                return tx.commit(b, onePhase);
            } finally {
                finishIfDone(tx);
            }
        } finally {
            tx.work.unlock();
        }
    }

    /** {@code POST {callback}/rollback}; UNKNOWN_BRANCH for a branch this service does not hold. */
    public PhaseTwoResponse rollback(String txid, String branchId) {
        requireIds(txid, branchId);
        JoinedTransaction tx = live.get(txid);
        if (tx == null) {
            return phaseTwoFromMemory(txid, branchId, false);
        }
        if (!lock(tx, CALLBACK_WAIT)) {
            throw ParticipantException.retryLater(txid, "a request of transaction " + txid + " is still working in"
                    + " this service; retry the rollback", null);
        }
        try {
            Branch b = tx.isFinished() ? null : tx.branch(branchId);
            if (b == null) {
                return phaseTwoFromMemory(txid, branchId, false);
            }
            try {
                return tx.rollback(b);
            } finally {
                finishIfDone(tx);
            }
        } finally {
            tx.work.unlock();
        }
    }

    private VoteResponse voteFromMemory(String txid, String branchId) {
        Remembered r = remembered(txid + "/" + branchId);
        if (r != null && r.state() == Branch.State.READ_ONLY) {
            return new VoteResponse(Vote.READ_ONLY, null);
        }
        return new VoteResponse(Vote.ABORT, r != null
                ? "branch " + branchId + " of transaction " + txid + " already ended " + r.state() + " in this service"
                : "branch " + branchId + " of transaction " + txid + " is not held by this service (its work was lost,"
                + " e.g. by a restart, or it never existed)");
    }

    private PhaseTwoResponse phaseTwoFromMemory(String txid, String branchId, boolean commit) {
        Remembered r = remembered(txid + "/" + branchId);
        Branch.State s = r == null ? null : r.state();
        if (s == Branch.State.COMMITTED || (s == Branch.State.READ_ONLY && commit)) {
            return new PhaseTwoResponse(PhaseTwoResponse.COMMITTED, null);
        }
        if (s == Branch.State.ROLLED_BACK || s == Branch.State.READ_ONLY) {
            return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, null);
        }
        if (s == Branch.State.IN_DOUBT) {
            throw new ParticipantException(500, ProblemTypes.OUTCOME_UNKNOWN, txid, false, "the one-phase commit of"
                    + " branch " + branchId + " of transaction " + txid + " failed earlier with an unknown outcome;"
                    + " check the data", null);
        }
        return new PhaseTwoResponse(PhaseTwoResponse.UNKNOWN_BRANCH, "branch " + branchId + " of transaction " + txid
                + " is not held by this service: finish it at its resource");
    }

    private static void requireIds(String txid, String branchId) {
        if (!XidCodec.isValidTxid(txid)) {
            throw new ParticipantException(400, ProblemTypes.INVALID_TXID, null, false, "txid '" + abbreviate(txid)
                    + "' is not a Pledge txid (<clusterId>:<epoch>:<seq>)", null);
        }
        if (!XidCodec.isValidBranchId(branchId)) {
            throw new ParticipantException(400, ProblemTypes.INVALID_BRANCH, txid, false, "branchId '"
                    + abbreviate(branchId) + "' is invalid: 1-" + XidCodec.MAX_BRANCH_ID_LENGTH
                    + " characters of [A-Za-z0-9._:@-]", null);
        }
    }

    private static boolean lock(JoinedTransaction tx, Duration wait) {
        try {
            return tx.work.tryLock(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ------------------------------------------------------------------ deadline, hold, completion

    private void onDeadline(JoinedTransaction tx) {
        if (!tx.work.tryLock()) {
            schedule(tx, () -> onDeadline(tx), BUSY_RETRY_MS); // a request or callback is at it: look again soon
            return;
        }
        try {
            if (tx.isFinished()) {
                return;
            }
            tx.expire();
            if (!finishIfDone(tx)) {
                log.info("Joined transaction {} passed its deadline {} with prepared branches; holding them {} for"
                        + " their phase 2", tx.txid(), tx.deadline(), settings.preparedHold());
                schedule(tx, () -> onHoldOver(tx), settings.preparedHold().toMillis());
            } else {
                log.info("Joined transaction {} passed its deadline {} undecided here: its unprepared work was rolled"
                        + " back and its connections returned", tx.txid(), tx.deadline());
            }
        } catch (RuntimeException e) {
            log.error("Expiring joined transaction {} failed", tx.txid(), e);
        } finally {
            tx.work.unlock();
        }
    }

    private void onHoldOver(JoinedTransaction tx) {
        if (!tx.work.tryLock()) {
            schedule(tx, () -> onHoldOver(tx), BUSY_RETRY_MS);
            return;
        }
        try {
            if (!tx.isFinished()) {
                tx.leavePreparedToCoordinator();
                finishIfDone(tx);
            }
        } catch (RuntimeException e) {
            log.error("Releasing the prepared branches of joined transaction {} failed", tx.txid(), e);
        } finally {
            tx.work.unlock();
        }
    }

    private void schedule(JoinedTransaction tx, Runnable task, long delayMs) {
        if (closed) {
            return;
        }
        tx.timer = timers.schedule(task, delayMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Finishes {@code tx} if no branch holds work any more: afterCompletion (connections back to their pools),
     * outcomes remembered, forgotten here. Caller holds {@code tx.work}.
     */
    private boolean finishIfDone(JoinedTransaction tx) {
        if (!tx.allBranchesDone()) {
            return false;
        }
        boolean ended = tx.closedToRequests(); // a callback, the deadline or rollback-only ended it, not a read-only request
        List<Branch> outcomes = tx.finish();
        live.remove(tx.txid(), tx);
        if (tx.timer != null) {
            tx.timer.cancel(false);
        }
        if (!outcomes.isEmpty()) {
            long now = System.nanoTime();
            synchronized (recent) {
                for (Branch b : outcomes) {
                    recent.put(tx.txid() + "/" + b.branchId(), new Remembered(b.state, now));
                }
                if (ended) {
                    recent.put(tx.txid(), new Remembered(outcomes.get(0).state, now));
                }
            }
        }
        return true;
    }

    private Remembered remembered(String key) {
        synchronized (recent) {
            Remembered r = recent.get(key);
            if (r != null && System.nanoTime() - r.atNanos() > REMEMBER_FOR.toNanos()) {
                recent.remove(key);
                return null;
            }
            return r;
        }
    }

    /**
     * Stops the deadline timers and ends every joined transaction: unprepared work rolls back, prepared
     * branches are left to the coordinator. Call before the pools close.
     */
    @Override
    public void close() {
        closed = true;
        timers.shutdownNow();
        for (JoinedTransaction tx : live.values()) {
            if (!lock(tx, Duration.ofSeconds(1))) {
                log.warn("Joined transaction {} is busy at shutdown; its connections close with their pool", tx.txid());
                continue;
            }
            try {
                if (!tx.isFinished()) {
                    tx.expire();
                    tx.leavePreparedToCoordinator();
                    finishIfDone(tx);
                }
            } catch (RuntimeException e) {
                log.warn("Ending joined transaction {} at shutdown failed: {}", tx.txid(), e.toString());
            } finally {
                tx.work.unlock();
            }
        }
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }
}
