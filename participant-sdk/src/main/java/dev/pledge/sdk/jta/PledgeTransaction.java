package dev.pledge.sdk.jta;

import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.OutcomeResponse;
import dev.pledge.sdk.client.PledgeException;
import dev.pledge.sdk.client.TransactionCommittedException;
import dev.pledge.xa.PhaseTwoResult;
import dev.pledge.xa.PledgeXid;
import dev.pledge.xa.XaErrors;
import dev.pledge.xa.XidCodec;
import jakarta.transaction.HeuristicMixedException;
import jakarta.transaction.HeuristicRollbackException;
import jakarta.transaction.RollbackException;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.SystemException;
import jakarta.transaction.Transaction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One global transaction as this process sees it: the txid the coordinator issued, the XA branches
 * enlisted here, the synchronizations, and the commit protocol. This class is the transaction of the
 * process that began it (the <em>originator</em>); {@link JoinedTransaction} is the same transaction
 * in a service that joined it through a {@code Pledge-Txid} header.
 *
 * <p>Commit, in order:
 * <ol>
 * <li>{@code beforeCompletion} of every synchronization (regular, then interposed); a failure rolls back.</li>
 * <li>End every branch ({@code TMSUCCESS}).</li>
 * <li>No branch: done. One branch: {@code commit(xid, onePhase=true)} here; no prepare, no decision record.
 * Both only if the transaction was never {@linkplain #markPropagated() propagated} to another service.</li>
 * <li>Several, or propagated: prepare each local branch here (<em>early prepare</em>); read-only votes drop
 * out. A failed prepare rolls back every branch and the transaction (the coordinator was never asked to
 * commit). A propagated transaction may have branches that other services registered with the coordinator
 * (coordinator-driven), which only the coordinator can prepare: it is always decided there, synchronously,
 * even with no local branch at all.</li>
 * <li>One commit request to the coordinator with the prepared branches inline (resource name, branch
 * id, no callback: the coordinator finishes them by XA bridging if this process dies). Its answer is
 * the decision; the coordinator's durable COMMIT record is the commit point.</li>
 * <li>COMMITTED: commit the branches here right away (phase-2 ownership) and report completion.
 * ABORTED: roll them back. No answer (S8): ask again for a bounded time, then leave the branches
 * prepared and throw {@link TransactionInDoubtException} — never roll back a prepared branch whose
 * transaction may have committed.</li>
 * </ol>
 *
 * <p>Not thread-safe for concurrent work on one transaction (JTA associates it with one thread at a
 * time), but every method is synchronized so completion from another thread is safe.
 */
public class PledgeTransaction implements Transaction {
    private static final Logger log = LoggerFactory.getLogger(PledgeTransaction.class);

    private final PledgeTransactionManager tm;
    private final String txid;
    private final Instant deadline;
    private final Duration timeout;
    private final long deadlineNanos;
    /** Guarded by this object, as is every mutable field here and in {@link JoinedTransaction}. */
    final List<Branch> branches = new ArrayList<>();
    private final List<Synchronization> synchronizations = new ArrayList<>();
    private final List<Synchronization> interposed = new ArrayList<>();
    private final Map<Object, Object> resources = new HashMap<>();
    int status = Status.STATUS_ACTIVE;
    private int nextBranch = 1;
    Throwable rollbackReason;
    /** The txid was sent to another service, which may have registered branches of its own with the coordinator. */
    private boolean propagated;

    PledgeTransaction(PledgeTransactionManager tm, String txid, Instant deadline, Duration timeout) {
        this.tm = tm;
        this.txid = txid;
        this.deadline = deadline;
        this.timeout = timeout;
        this.deadlineNanos = System.nanoTime() + timeout.toNanos();
    }

    PledgeTransactionManager manager() {
        return tm;
    }

    /** The coordinator's transaction id, {@code <clusterId>:<epoch>:<seq>}. */
    public String txid() {
        return txid;
    }

    /** The deadline the coordinator gave (it aborts the transaction if it is not committed by then). */
    public Instant deadline() {
        return deadline;
    }

    /**
     * Records that the txid was sent to another service ({@code Pledge-Txid}), which may register
     * coordinator-driven branches of its own: the commit then always asks the coordinator for the decision,
     * synchronously, and never commits a single local branch in one phase. The SDK's
     * {@code RestClient}/{@code RestTemplate} interceptor calls it; code that sends the header by other means
     * must call it too.
     *
     * @throws IllegalStateException once completion has started: a call made then could not join
     */
    public synchronized void markPropagated() {
        if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status)
                    + ": its txid can no longer be sent to another service");
        }
        propagated = true;
    }

    /** True once {@link #markPropagated()} was called. */
    public synchronized boolean isPropagated() {
        return propagated;
    }

    /** True for a transaction this process joined ({@code Pledge-Txid}) rather than began. */
    public boolean isJoined() {
        return false;
    }

    /** The branch ids enlisted so far, {@code <resource>:<instance>:<n>}. */
    public synchronized List<String> branchIds() {
        List<String> ids = new ArrayList<>();
        for (Branch b : branches) {
            ids.add(b.branchId());
        }
        return ids;
    }

    @Override
    public synchronized int getStatus() {
        return status;
    }

    @Override
    public synchronized void setRollbackOnly() {
        markRollbackOnly(new IllegalStateException("setRollbackOnly() was called"));
    }

    void markRollbackOnly(Throwable reason) {
        if (status == Status.STATUS_MARKED_ROLLBACK) {
            return;
        }
        if (status != Status.STATUS_ACTIVE) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status)
                    + " and can no longer be marked rollback-only");
        }
        status = Status.STATUS_MARKED_ROLLBACK;
        rollbackReason = reason;
    }

    private boolean expired() {
        return System.nanoTime() - deadlineNanos >= 0;
    }

    private IllegalStateException timedOut() {
        return new IllegalStateException("transaction " + txid + " timed out: its deadline " + deadline + " passed"
                + (isJoined() ? "" : " (timeout " + timeout.toSeconds() + " s)"));
    }

    // ------------------------------------------------------------------ enlistment

    /**
     * Starts an XA branch on {@code xaRes}, which must be a {@link NamedXAResource}. Each enlistment is
     * its own branch ({@code isSameRM} is never used to join: PostgreSQL cannot join across
     * connections). Enlisting the same object again resumes or joins its branch: a branch ended with
     * {@code TMSUCCESS} re-joins with {@code start(xid, TMJOIN)} on the same resource, which is how a joined
     * transaction's parked branch takes the work of its next request.
     */
    @Override
    public synchronized boolean enlistResource(XAResource xaRes) throws RollbackException, SystemException {
        if (xaRes == null) {
            throw new IllegalArgumentException("xaRes is null");
        }
        Branch existing = find(xaRes);
        if (existing != null && existing.state == Branch.State.ACTIVE) {
            return true; // already associated: nothing changes, whatever the transaction's state
        }
        requireEnlistable();
        if (existing != null) {
            return reassociate(existing);
        }
        if (!(xaRes instanceof NamedXAResource)) {
            throw new IllegalArgumentException("cannot enlist " + xaRes.getClass().getName() + " in transaction " + txid
                    + ": it has no Pledge resource name, so the coordinator could not finish its branch after a crash."
                    + " Use the SDK's pools (PledgeTransactionIntegration for Agroal, PledgeXaPooledConnectionFactory"
                    + " for JMS) or wrap it: new NamedXAResource(\"<name registered at the coordinator>\", xaRes)");
        }
        NamedXAResource named = (NamedXAResource) xaRes;
        if (branches.size() >= tm.settings().maxBranches()) {
            throw systemException("transaction " + txid + " already has " + branches.size() + " branches, the limit"
                    + " (pledge.participant.max-branches); cannot enlist " + named.resourceName(), null);
        }
        String branchId = newBranchId(named.resourceName(), nextBranch);
        PledgeXid xid = XidCodec.encode(txid, branchId);
        beforeBranchStart(branchId, named.resourceName());
        try {
            named.start(xid, XAResource.TMNOFLAGS);
        } catch (XAException e) {
            throw systemException("could not start branch " + branchId + " of transaction " + txid + " on resource "
                    + named.resourceName() + ": " + XaErrors.codeName(e.errorCode), e);
        } catch (RuntimeException e) {
            throw systemException("could not start branch " + branchId + " of transaction " + txid + " on resource "
                    + named.resourceName() + ": " + e, e);
        }
        nextBranch++;
        Branch branch = new Branch(named, xaRes, xid);
        branches.add(branch);
        afterBranchStart(branch);
        return true;
    }

    /** The id of a new branch on {@code resourceName}: {@code <resource>:<instance>:<n>}. */
    String newBranchId(String resourceName, int n) {
        return resourceName + ":" + tm.settings().instanceId() + ":" + n;
    }

    /** Called under this object's lock before a new branch starts; a joined transaction registers it here. */
    void beforeBranchStart(String branchId, String resourceName) throws RollbackException, SystemException {
    }

    /** Called under this object's lock once a new branch started. */
    void afterBranchStart(Branch branch) {
    }

    private void requireEnlistable() throws RollbackException {
        if (status == Status.STATUS_ACTIVE && expired()) {
            markRollbackOnly(timedOut());
        }
        if (status == Status.STATUS_MARKED_ROLLBACK) {
            throw rollbackException("transaction " + txid + " is marked rollback-only ("
                    + describe(rollbackReason) + "): no resource can join it", rollbackReason);
        }
        if (status != Status.STATUS_ACTIVE) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status)
                    + ": resources can join only while it is active");
        }
    }

    Branch find(XAResource xaRes) {
        for (Branch b : branches) {
            if (b.enlisted == xaRes || b.resource == xaRes) {
                return b;
            }
        }
        return null;
    }

    private boolean reassociate(Branch b) throws SystemException {
        try {
            switch (b.state) {
                case ACTIVE:
                    return true;
                case SUSPENDED:
                    b.resource.start(b.xid, XAResource.TMRESUME);
                    break;
                case ENDED:
                    b.resource.start(b.xid, XAResource.TMJOIN);
                    break;
                default:
                    throw new IllegalStateException("branch " + b + " of transaction " + txid + " cannot be re-enlisted");
            }
        } catch (XAException e) {
            throw systemException("could not re-associate branch " + b + " of transaction " + txid + ": "
                    + XaErrors.codeName(e.errorCode), e);
        }
        b.state = Branch.State.ACTIVE;
        return true;
    }

    /** Ends the association of {@code xaRes}: TMSUCCESS, TMSUSPEND, or TMFAIL (which marks the transaction rollback-only). */
    @Override
    public synchronized boolean delistResource(XAResource xaRes, int flag) throws SystemException {
        if (flag != XAResource.TMSUCCESS && flag != XAResource.TMFAIL && flag != XAResource.TMSUSPEND) {
            throw new IllegalArgumentException("delist flag " + flag + " is invalid: use TMSUCCESS, TMSUSPEND or TMFAIL");
        }
        if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status) + ": nothing to delist");
        }
        Branch b = find(xaRes);
        if (b == null || (b.state != Branch.State.ACTIVE && !(b.state == Branch.State.SUSPENDED && flag != XAResource.TMSUSPEND))) {
            return false;
        }
        try {
            b.resource.end(b.xid, flag);
        } catch (XAException e) {
            b.state = Branch.State.FAILED;
            markRollbackOnly(e);
            throw systemException("could not end branch " + b + " of transaction " + txid + ": "
                    + XaErrors.codeName(e.errorCode) + "; the transaction will roll back", e);
        }
        if (flag == XAResource.TMSUSPEND) {
            b.state = Branch.State.SUSPENDED;
        } else if (flag == XAResource.TMFAIL) {
            b.state = Branch.State.FAILED;
            markRollbackOnly(new IllegalStateException("branch " + b.branchId() + " was delisted with TMFAIL"));
        } else {
            b.state = Branch.State.ENDED;
        }
        return true;
    }

    // ------------------------------------------------------------------ synchronizations and resources

    @Override
    public synchronized void registerSynchronization(Synchronization sync) throws RollbackException {
        if (sync == null) {
            throw new IllegalArgumentException("synchronization is null");
        }
        if (status == Status.STATUS_MARKED_ROLLBACK) {
            throw rollbackException("transaction " + txid + " is marked rollback-only: no synchronization can join it",
                    rollbackReason);
        }
        if (status != Status.STATUS_ACTIVE) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status)
                    + ": synchronizations can be registered only while it is active");
        }
        synchronizations.add(sync);
    }

    /** TransactionSynchronizationRegistry semantics: before-completion last, after-completion first. */
    synchronized void registerInterposedSynchronization(Synchronization sync) {
        if (sync == null) {
            throw new IllegalArgumentException("synchronization is null");
        }
        if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status)
                    + ": synchronizations can be registered only before completion starts");
        }
        interposed.add(sync);
    }

    synchronized void putResource(Object key, Object value) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        if (value == null) {
            resources.remove(key);
        } else {
            resources.put(key, value);
        }
    }

    synchronized Object getResource(Object key) {
        if (key == null) {
            throw new NullPointerException("key");
        }
        return resources.get(key);
    }

    // ------------------------------------------------------------------ completion

    @Override
    public void commit() throws RollbackException, HeuristicMixedException, HeuristicRollbackException, SystemException {
        try {
            synchronized (this) {
                doCommit();
            }
        } finally {
            tm.disassociate(this);
        }
    }

    @Override
    public void rollback() throws SystemException {
        try {
            synchronized (this) {
                if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
                    throw new IllegalStateException("transaction " + txid + " is " + statusName(status)
                            + " and cannot be rolled back now");
                }
                rollbackAll();
            }
        } finally {
            tm.disassociate(this);
        }
    }

    private void doCommit() throws RollbackException, HeuristicMixedException, HeuristicRollbackException,
            SystemException {
        if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
            throw new IllegalStateException("transaction " + txid + " is " + statusName(status) + " and cannot commit");
        }
        if (status == Status.STATUS_ACTIVE && expired()) {
            markRollbackOnly(timedOut());
        }
        if (status == Status.STATUS_ACTIVE) {
            beforeCompletion();
        }
        if (status == Status.STATUS_ACTIVE && expired()) {
            markRollbackOnly(timedOut());
        }
        if (status == Status.STATUS_MARKED_ROLLBACK) {
            Throwable why = rollbackReason;
            rollbackAll();
            throw rollbackException("transaction " + txid + " was rolled back: " + describe(why), why);
        }
        for (Branch b : branches) {
            if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED) {
                try {
                    b.resource.end(b.xid, XAResource.TMSUCCESS);
                    b.state = Branch.State.ENDED;
                } catch (XAException e) {
                    b.state = Branch.State.FAILED;
                    rollbackAll();
                    throw rollbackException("transaction " + txid + " was rolled back: ending branch " + b.branchId()
                            + " on " + b.resourceName() + " failed with " + XaErrors.codeName(e.errorCode), e);
                }
            }
        }
        if (branches.isEmpty() && !propagated) {
            status = Status.STATUS_COMMITTED;
            tm.notifier().ended(txid, Outcome.COMMITTED);
            afterCompletion();
        } else if (branches.size() == 1 && !propagated) {
            commitOnePhase(branches.get(0));
        } else {
            // Several local branches, or remote ones the coordinator must prepare: the coordinator decides.
            commitTwoPhase();
        }
    }

    private void beforeCompletion() {
        // Synchronizations may register more while they run (JTA allows it): index loops see them.
        try {
            for (int i = 0; i < synchronizations.size() && status == Status.STATUS_ACTIVE; i++) {
                synchronizations.get(i).beforeCompletion();
            }
            for (int i = 0; i < interposed.size() && status == Status.STATUS_ACTIVE; i++) {
                interposed.get(i).beforeCompletion();
            }
        } catch (RuntimeException | Error e) {
            log.warn("beforeCompletion failed in transaction {}; it rolls back", txid, e);
            markRollbackOnly(e);
        }
    }

    /** Exactly one branch: the resource decides alone, no prepare, nothing for the coordinator to log. */
    private void commitOnePhase(Branch b) throws RollbackException, HeuristicMixedException,
            HeuristicRollbackException, SystemException {
        status = Status.STATUS_COMMITTING;
        try {
            b.resource.commit(b.xid, true);
            b.state = Branch.State.COMMITTED;
        } catch (XAException e) {
            int code = e.errorCode;
            if (code >= XAException.XA_RBBASE && code <= XAException.XA_RBEND) {
                b.state = Branch.State.ROLLED_BACK;
                finishRolledBack();
                throw rollbackException("transaction " + txid + " was rolled back by resource " + b.resourceName()
                        + " at its one-phase commit: " + XaErrors.codeName(code), e);
            }
            if (code == XAException.XA_HEURCOM) {
                forgetQuietly(b);
                b.state = Branch.State.COMMITTED;
            } else if (code == XAException.XA_HEURRB) {
                forgetQuietly(b);
                b.state = Branch.State.ROLLED_BACK;
                finishRolledBack();
                HeuristicRollbackException h = new HeuristicRollbackException("transaction " + txid + ": resource "
                        + b.resourceName() + " rolled back heuristically at its one-phase commit");
                h.initCause(e);
                throw h;
            } else {
                if (XaErrors.requiresForget(code)) {
                    forgetQuietly(b);
                }
                b.state = Branch.State.LEFT_TO_COORDINATOR;
                status = Status.STATUS_UNKNOWN;
                afterCompletion();
                if (code == XAException.XA_HEURMIX || code == XAException.XA_HEURHAZ) {
                    HeuristicMixedException h = new HeuristicMixedException("transaction " + txid + ": resource "
                            + b.resourceName() + " reported " + XaErrors.codeName(code) + " at its one-phase commit");
                    h.initCause(e);
                    throw h;
                }
                throw systemException("the one-phase commit of transaction " + txid + " on resource "
                        + b.resourceName() + " failed with " + XaErrors.codeName(code) + ": its outcome is unknown."
                        + " The branch was never prepared, so the resource has either committed it or rolls it back;"
                        + " check the data before repeating the work", e);
            }
        } catch (RuntimeException e) {
            b.state = Branch.State.LEFT_TO_COORDINATOR;
            status = Status.STATUS_UNKNOWN;
            afterCompletion();
            throw systemException("the one-phase commit of transaction " + txid + " on resource " + b.resourceName()
                    + " failed: " + e + "; its outcome is unknown, check the data before repeating the work", e);
        }
        status = Status.STATUS_COMMITTED;
        tm.notifier().ended(txid, Outcome.COMMITTED);
        afterCompletion();
    }

    private void commitTwoPhase() throws RollbackException, HeuristicMixedException, SystemException {
        status = Status.STATUS_PREPARING;
        SdkFailpoints.hit(SdkFailpoints.BEFORE_PREPARE, txid);
        for (Branch b : branches) {
            try {
                int vote = b.resource.prepare(b.xid);
                b.state = vote == XAResource.XA_RDONLY ? Branch.State.READ_ONLY : Branch.State.PREPARED;
                SdkFailpoints.hit(SdkFailpoints.AFTER_PREPARE, txid);
            } catch (XAException | RuntimeException e) {
                int code = e instanceof XAException ? ((XAException) e).errorCode : 0;
                if (code >= XAException.XA_RBBASE && code <= XAException.XA_RBEND) {
                    b.state = Branch.State.ROLLED_BACK;
                }
                // Safe: no commit request was sent, so the coordinator cannot hold a COMMIT record.
                rollbackAll();
                throw rollbackException("transaction " + txid + " was rolled back: prepare of branch " + b.branchId()
                        + " on resource " + b.resourceName() + " failed with "
                        + (e instanceof XAException ? XaErrors.codeName(code) : e.toString()), e);
            }
        }
        List<Branch> prepared = new ArrayList<>();
        for (Branch b : branches) {
            if (b.state == Branch.State.PREPARED) {
                prepared.add(b);
            }
        }
        if (prepared.isEmpty() && !propagated) {
            status = Status.STATUS_COMMITTED; // every branch voted read-only: nothing to decide
            tm.notifier().ended(txid, Outcome.COMMITTED);
            afterCompletion();
            return;
        }
        status = Status.STATUS_PREPARED;
        OutcomeResponse decision = awaitDecision(prepared);
        boolean commit = decision.outcome() == Outcome.COMMITTED;
        status = commit ? Status.STATUS_COMMITTING : Status.STATUS_ROLLING_BACK;
        List<String> heuristics = finishPhaseTwo(prepared, commit);
        status = commit ? Status.STATUS_COMMITTED : Status.STATUS_ROLLEDBACK;
        afterCompletion();
        if (!heuristics.isEmpty()) {
            throw new HeuristicMixedException("transaction " + txid + " was decided " + decision.outcome()
                    + " but resources decided otherwise on their own: " + heuristics
                    + "; the coordinator records and surfaces them for an operator");
        }
        if (!commit) {
            throw rollbackException("transaction " + txid + " was rolled back: the coordinator decided ABORTED"
                    + (decision.reason() == null ? "" : " (" + decision.reason() + ")"), null);
        }
    }

    /**
     * Asks the coordinator to commit, with the prepared branches inline, until it answers a decision.
     * Safety rule S8: an unknown outcome never leads to a rollback here. Returns only a decision;
     * otherwise leaves the branches prepared and throws {@link TransactionInDoubtException}.
     */
    private OutcomeResponse awaitDecision(List<Branch> prepared) throws TransactionInDoubtException {
        List<BranchRegistration> inline = new ArrayList<>();
        for (Branch b : prepared) {
            inline.add(new BranchRegistration(b.branchId(), b.resourceName(), BranchState.PREPARED, null));
        }
        Duration wait = tm.settings().outcomeWait();
        long giveUpAt = System.nanoTime() + wait.toNanos();
        RuntimeException last = null;
        for (int round = 0; ; round++) {
            try {
                OutcomeResponse r = tm.client().commit(txid, inline, false);
                if (r != null && r.outcome() != null) {
                    return r;
                }
                last = new IllegalStateException("the coordinator answered the commit of " + txid + " without an outcome");
            } catch (PledgeException e) {
                last = e;
                if (e.isRefusal()) {
                    // Refused without deciding (nothing was logged for this request): learn the outcome by
                    // rolling back, which an ACTIVE transaction accepts and a committed one refuses.
                    try {
                        OutcomeResponse r = tm.client().rollback(txid);
                        Outcome o = r == null || r.outcome() == null ? Outcome.ABORTED : r.outcome();
                        return new OutcomeResponse(txid, o, "the coordinator refused the commit request: " + e.getMessage());
                    } catch (TransactionCommittedException c) {
                        return new OutcomeResponse(txid, Outcome.COMMITTED, null);
                    } catch (PledgeException r) {
                        last = r;
                        if (r.isRefusal()) {
                            break;
                        }
                    } catch (RuntimeException r) {
                        last = r;
                    }
                }
            } catch (RuntimeException e) {
                last = e;
            }
            long remaining = giveUpAt - System.nanoTime();
            if (remaining <= 0 || Thread.currentThread().isInterrupted()) {
                break;
            }
            long pauseMs = Math.min(Duration.ofNanos(remaining).toMillis(),
                    Math.min(1000, 50L << Math.min(round, 5)) / 2 + ThreadLocalRandom.current().nextLong(25));
            log.warn("Outcome of transaction {} unknown ({}); asking the coordinator again", txid, last.getMessage());
            try {
                Thread.sleep(pauseMs);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<String> ids = new ArrayList<>();
        for (Branch b : prepared) {
            b.state = Branch.State.LEFT_TO_COORDINATOR;
            ids.add(b.branchId());
        }
        status = Status.STATUS_UNKNOWN;
        log.error("Transaction {} is in doubt: no decision from the coordinator within {}; branches {} stay prepared"
                + " for the coordinator to finish", txid, wait, ids, last);
        afterCompletion();
        throw new TransactionInDoubtException(txid, ids, "the coordinator's decision could not be learned within "
                + wait.toMillis() + " ms (last answer: " + (last == null ? "none" : last.getMessage()) + ")", last);
    }

    /**
     * Phase 2 for the branches prepared here (phase-2 ownership): finish each now and report it; a
     * branch that cannot be finished now is left to the coordinator, which retries through XA bridging.
     * Returns the heuristic outcomes that contradict the decision.
     */
    private List<String> finishPhaseTwo(List<Branch> prepared, boolean commit) {
        List<String> heuristics = new ArrayList<>();
        BranchState done = commit ? BranchState.COMMITTED : BranchState.ROLLED_BACK;
        if (commit) {
            SdkFailpoints.hit(SdkFailpoints.AFTER_DECISION, txid);
        }
        boolean first = true;
        for (Branch b : prepared) {
            if (commit && !first) {
                SdkFailpoints.hit(SdkFailpoints.BETWEEN_LOCAL_COMMITS, txid);
            }
            first = false;
            PhaseTwoResult result = XaErrors.finish(b.resource, b.xid, commit);
            if (result.matchesDecision()) {
                if (result.xaErrorCode() != null && XaErrors.requiresForget(result.xaErrorCode())) {
                    forgetQuietly(b);
                }
                b.state = commit ? Branch.State.COMMITTED : Branch.State.ROLLED_BACK;
                tm.notifier().completed(txid, b.branchId(), done);
            } else if (result.outcome() == PhaseTwoResult.Outcome.RETRY) {
                b.state = Branch.State.LEFT_TO_COORDINATOR;
                log.warn("Phase 2 ({}) of branch {} of transaction {} failed: {}; the coordinator will finish it",
                        commit ? "commit" : "rollback", b, txid, result.message());
            } else {
                // Not forgotten here: the coordinator's own phase 2 meets the same heuristic, records it,
                // forgets it and surfaces it (S6).
                b.state = Branch.State.HEURISTIC;
                heuristics.add(b.branchId() + ": " + result.message());
                log.error("Branch {} of transaction {} ended against the decision: {}", b, txid, result.message());
            }
        }
        return heuristics;
    }

    /** Rolls back every branch that may hold work; only ever before a commit request was sent, or after ABORTED. */
    private void rollbackAll() {
        status = Status.STATUS_ROLLING_BACK;
        for (Branch b : branches) {
            if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED) {
                try {
                    b.resource.end(b.xid, XAResource.TMFAIL);
                } catch (XAException | RuntimeException e) {
                    log.debug("end(TMFAIL) of branch {} of transaction {} failed: {}", b, txid, e.toString());
                }
                b.state = Branch.State.FAILED;
            }
            if (b.state == Branch.State.ENDED || b.state == Branch.State.FAILED || b.state == Branch.State.PREPARED) {
                try {
                    b.resource.rollback(b.xid);
                    b.state = Branch.State.ROLLED_BACK;
                } catch (XAException e) {
                    PhaseTwoResult r = XaErrors.classify(e, false);
                    if (r.matchesDecision()) {
                        b.state = Branch.State.ROLLED_BACK;
                    } else {
                        b.state = Branch.State.LEFT_TO_COORDINATOR;
                        log.warn("Rollback of branch {} of transaction {} failed: {}; an unprepared branch is rolled"
                                + " back by its resource when the connection ends, a prepared one by the coordinator's"
                                + " recovery (presumed abort)", b, txid, r.message());
                    }
                } catch (RuntimeException e) {
                    b.state = Branch.State.LEFT_TO_COORDINATOR;
                    log.warn("Rollback of branch {} of transaction {} failed: {}", b, txid, e.toString());
                }
            }
        }
        finishRolledBack();
    }

    private void finishRolledBack() {
        status = Status.STATUS_ROLLEDBACK;
        tm.notifier().ended(txid, Outcome.ABORTED);
        afterCompletion();
    }

    void afterCompletion() {
        for (Synchronization s : interposed) {
            afterCompletion(s);
        }
        for (Synchronization s : synchronizations) {
            afterCompletion(s);
        }
    }

    private void afterCompletion(Synchronization s) {
        try {
            s.afterCompletion(status);
        } catch (RuntimeException e) {
            log.warn("afterCompletion({}) of {} failed in transaction {}", statusName(status), s, txid, e);
        }
    }

    void forgetQuietly(Branch b) {
        try {
            b.resource.forget(b.xid);
        } catch (XAException | RuntimeException e) {
            log.warn("forget of branch {} of transaction {} failed: {}", b, txid, e.toString());
        }
    }

    static RollbackException rollbackException(String message, Throwable cause) {
        RollbackException e = new RollbackException(message);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    static SystemException systemException(String message, Throwable cause) {
        SystemException e = new SystemException(message);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    static String describe(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    static String statusName(int status) {
        switch (status) {
            case Status.STATUS_ACTIVE: return "ACTIVE";
            case Status.STATUS_MARKED_ROLLBACK: return "MARKED_ROLLBACK";
            case Status.STATUS_PREPARED: return "PREPARED";
            case Status.STATUS_COMMITTED: return "COMMITTED";
            case Status.STATUS_ROLLEDBACK: return "ROLLEDBACK";
            case Status.STATUS_UNKNOWN: return "UNKNOWN (in doubt)";
            case Status.STATUS_NO_TRANSACTION: return "NO_TRANSACTION";
            case Status.STATUS_PREPARING: return "PREPARING";
            case Status.STATUS_COMMITTING: return "COMMITTING";
            case Status.STATUS_ROLLING_BACK: return "ROLLING_BACK";
            default: return "status " + status;
        }
    }

    @Override
    public synchronized String toString() {
        return "PledgeTransaction[" + txid + ", " + statusName(status) + ", branches=" + branches + "]";
    }
}
