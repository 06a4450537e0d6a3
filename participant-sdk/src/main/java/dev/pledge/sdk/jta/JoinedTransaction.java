package dev.pledge.sdk.jta;

import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.ParticipantCalls.PhaseTwoResponse;
import dev.pledge.protocol.ParticipantCalls.VoteResponse;
import dev.pledge.protocol.ProblemTypes;
import dev.pledge.protocol.Vote;
import dev.pledge.sdk.client.PledgeException;
import dev.pledge.xa.PhaseTwoResult;
import dev.pledge.xa.XaErrors;
import jakarta.transaction.RollbackException;
import jakarta.transaction.Status;
import jakarta.transaction.SystemException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A global transaction as a service sees it that joined it through a {@code Pledge-Txid} header
 * ({@link JoinedTransactions}): it works in it during one or more requests and is finished by the
 * coordinator through the participant callbacks (prepare, commit, rollback), never by the application.
 *
 * <p><b>Parked branches.</b> Between requests each branch is ended ({@code TMSUCCESS}) and stays on the XA
 * connection that did the work, out of the pool. The next request of the same transaction takes the same
 * connection from the pool integration and re-joins the branch with {@code start(xid, TMJOIN)} on that
 * connection. That is the one form of join PostgreSQL's driver supports (pgjdbc accepts {@code TMJOIN}
 * only for the XID its connection ended last, "it's ok to join an ended transaction"; there is no
 * suspend/resume and no join across connections), and H2 accepts it too. So several calls of one
 * transaction are one branch in one database transaction: no self-deadlock on rows an earlier call locked.
 *
 * <p>One request or callback works on a joined transaction at a time ({@link #work}): a connection serves
 * one thread. Every mutable field is guarded by this object's monitor, as in {@link PledgeTransaction}.
 */
final class JoinedTransaction extends PledgeTransaction {
    private static final Logger log = LoggerFactory.getLogger(JoinedTransaction.class);

    private final JoinedTransactions registry;
    /** Held by the request or callback working on this transaction; fair, so a waiting callback is not starved. */
    final ReentrantLock work = new ReentrantLock(true);
    /** A callback or the deadline came: no request may join any more. */
    private boolean completing;
    /** Finished: afterCompletion ran, the registry forgot it. */
    private boolean finished;
    /** The deadline or hold timer (guarded by the registry's scheduling, not this monitor). */
    volatile ScheduledFuture<?> timer;

    JoinedTransaction(PledgeTransactionManager tm, String txid, Instant deadline, JoinedTransactions registry) {
        super(tm, txid, deadline, positive(Duration.between(Instant.now(), deadline)));
        this.registry = registry;
    }

    private static Duration positive(Duration d) {
        return d.isNegative() ? Duration.ZERO : d;
    }

    @Override
    public boolean isJoined() {
        return true;
    }

    /** Joined branch ids carry a {@code j} and a process-wide number, so they never collide with the originator's. */
    @Override
    String newBranchId(String resourceName, int n) {
        return resourceName + ":" + manager().settings().instanceId() + ":j" + registry.nextBranchNumber();
    }

    /** Parked mode: the coordinator learns of the branch before it takes any work (ACTIVE, with our callback URL). */
    @Override
    void beforeBranchStart(String branchId, String resourceName) throws RollbackException, SystemException {
        if (registry.mode() != JoinedTransactions.Mode.PARKED) {
            return;
        }
        try {
            registry.register(txid(), new BranchRegistration(branchId, resourceName, BranchState.ACTIVE,
                    registry.callbackUrl()));
        } catch (PledgeException e) {
            markRollbackOnly(e);
            if (e.isRefusal()) {
                throw rollbackException("transaction " + txid() + " refused branch " + branchId + " on resource "
                        + resourceName + " (" + e.getMessage() + "): it is no longer active at the coordinator", e);
            }
            throw systemException("could not register branch " + branchId + " of transaction " + txid()
                    + " with the coordinator (" + e.getMessage() + "); the transaction will roll back", e);
        } catch (RuntimeException e) {
            markRollbackOnly(e);
            throw systemException("could not register branch " + branchId + " of transaction " + txid() + ": " + e
                    + "; the transaction will roll back", e);
        }
    }

    @Override
    void afterBranchStart(Branch b) {
        b.registered = registry.mode() == JoinedTransactions.Mode.PARKED;
    }

    /** Only the service that began a transaction commits it; here the coordinator finishes the branches. */
    @Override
    public void commit() {
        throw new IllegalStateException("transaction " + txid() + " was joined from another service (Pledge-Txid):"
                + " only the service that began it commits it; this service's branches are finished by the coordinator");
    }

    /** Use {@code setRollbackOnly()}: it dooms the whole global transaction. */
    @Override
    public void rollback() {
        throw new IllegalStateException("transaction " + txid() + " was joined from another service (Pledge-Txid):"
                + " call setRollbackOnly() to make it roll back everywhere");
    }

    // ------------------------------------------------------------------ requests

    /** True while requests may join: no callback and no deadline came yet, and it is not rollback-only. */
    synchronized boolean acceptsRequests() {
        return !closedToRequests() && status == Status.STATUS_ACTIVE;
    }

    /** True once no request may join: a callback or the deadline came, or the transaction is rollback-only. */
    synchronized boolean closedToRequests() {
        return completing || finished || status == Status.STATUS_MARKED_ROLLBACK;
    }

    synchronized boolean hasBranches() {
        return !branches.isEmpty();
    }

    synchronized boolean isFinished() {
        return finished;
    }

    synchronized boolean isRollbackOnly() {
        return status == Status.STATUS_MARKED_ROLLBACK;
    }

    synchronized void markRollbackOnlyAfterFailure(Throwable failure) {
        if (status == Status.STATUS_ACTIVE) {
            markRollbackOnly(failure);
        }
    }

    /** Branches that still hold a connection (not finished). */
    synchronized int heldBranches() {
        int n = 0;
        for (Branch b : branches) {
            if (!done(b)) {
                n++;
            }
        }
        return n;
    }

    /**
     * End of a request: ends each branch it worked on ({@code TMSUCCESS}, or {@code TMFAIL} when rollback-only).
     * The branches stay on their connections (parked) until a callback or the deadline.
     */
    synchronized void endBranches() {
        boolean fail = status == Status.STATUS_MARKED_ROLLBACK;
        for (Branch b : branches) {
            if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED) {
                try {
                    b.resource.end(b.xid, fail ? XAResource.TMFAIL : XAResource.TMSUCCESS);
                    b.state = fail ? Branch.State.FAILED : Branch.State.ENDED;
                } catch (XAException | RuntimeException e) {
                    b.state = Branch.State.FAILED;
                    markRollbackOnlyAfterFailure(e);
                    log.warn("Ending branch {} of joined transaction {} failed ({}); the transaction will roll back", b,
                            txid(), e instanceof XAException ? XaErrors.codeName(((XAException) e).errorCode) : e.toString());
                }
            }
        }
    }

    /** Rolls back every branch that is not prepared (its work is lost, the database releases its locks). */
    synchronized void rollbackUnprepared() {
        for (Branch b : branches) {
            if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED || b.state == Branch.State.ENDED
                    || b.state == Branch.State.FAILED) {
                rollbackUnprepared(b);
            }
        }
    }

    private void rollbackUnprepared(Branch b) {
        if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED) {
            try {
                b.resource.end(b.xid, XAResource.TMFAIL);
            } catch (XAException | RuntimeException e) {
                log.debug("end(TMFAIL) of branch {} of joined transaction {} failed: {}", b, txid(), e.toString());
            }
        }
        try {
            b.resource.rollback(b.xid);
        } catch (XAException | RuntimeException e) {
            // Unprepared work dies with its connection, which a failed rollback marks for removal from the pool.
            log.debug("Rollback of unprepared branch {} of joined transaction {} failed: {}", b, txid(), e.toString());
        }
        b.state = Branch.State.ROLLED_BACK;
    }

    /**
     * Early prepare at the end of a request: prepares every ended branch. Returns the newly prepared ones, to
     * be registered PREPARED; read-only ones are done. A failed prepare rolls back every unregistered branch
     * and marks the transaction rollback-only, and is thrown.
     */
    synchronized List<Branch> prepareEnded() throws XAException {
        List<Branch> prepared = new ArrayList<>();
        for (Branch b : branches) {
            if (b.state != Branch.State.ENDED) {
                continue;
            }
            try {
                int vote = b.resource.prepare(b.xid);
                b.state = vote == XAResource.XA_RDONLY ? Branch.State.READ_ONLY : Branch.State.PREPARED;
                if (b.state == Branch.State.PREPARED) {
                    prepared.add(b);
                }
            } catch (XAException | RuntimeException e) {
                markRollbackOnlyAfterFailure(e);
                for (Branch other : branches) {
                    if (!other.registered && (other.state == Branch.State.PREPARED || !done(other))) {
                        rollbackAfterFailedPrepare(other);
                    }
                }
                if (e instanceof XAException) {
                    throw (XAException) e;
                }
                XAException x = new XAException("prepare of branch " + b.branchId() + " failed: " + e);
                x.errorCode = XAException.XAER_RMERR;
                x.initCause(e);
                throw x;
            }
        }
        return prepared;
    }

    private void rollbackAfterFailedPrepare(Branch b) {
        if (b.state == Branch.State.PREPARED) {
            try {
                b.resource.rollback(b.xid);
            } catch (XAException | RuntimeException e) {
                log.warn("Rollback of prepared, unregistered branch {} of joined transaction {} failed ({}); the"
                        + " coordinator's recovery rolls it back (presumed abort)", b, txid(), e.toString());
            }
            b.state = Branch.State.ROLLED_BACK;
        } else {
            rollbackUnprepared(b);
        }
    }

    /** Early prepare registered these with the coordinator (PREPARED, with our callback). */
    synchronized void markRegistered(List<Branch> registered) {
        for (Branch b : registered) {
            b.registered = true;
        }
    }

    /** Rolls back prepared branches the coordinator refused to register: it will never commit them. */
    synchronized void rollbackRefused(List<Branch> refused) {
        for (Branch b : refused) {
            rollbackAfterFailedPrepare(b);
        }
    }

    // ------------------------------------------------------------------ coordinator callbacks

    synchronized Branch branch(String branchId) {
        for (Branch b : branches) {
            if (b.branchId().equals(branchId)) {
                return b;
            }
        }
        return null;
    }

    /** A callback came: the coordinator is deciding, so no request may add work any more. */
    private void startCompleting() {
        completing = true;
        if (status == Status.STATUS_ACTIVE) {
            status = Status.STATUS_PREPARING;
        }
    }

    /** {@code POST {callback}/prepare}: XA prepare of a parked branch; a failure, or rollback-only, votes ABORT. */
    synchronized VoteResponse prepare(Branch b) {
        startCompleting();
        switch (b.state) {
            case PREPARED:
                return new VoteResponse(Vote.COMMIT, null);
            case READ_ONLY:
                return new VoteResponse(Vote.READ_ONLY, null);
            case ACTIVE:
            case SUSPENDED:
            case ENDED:
            case FAILED:
                break;
            default:
                return new VoteResponse(Vote.ABORT, "branch " + b.branchId() + " is already " + b.state + " here");
        }
        if (status == Status.STATUS_MARKED_ROLLBACK || b.state == Branch.State.FAILED) {
            rollbackUnprepared(b);
            return new VoteResponse(Vote.ABORT, "transaction " + txid() + " is rollback-only in this service"
                    + (rollbackReason == null ? "" : " (" + describe(rollbackReason) + ")"));
        }
        if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED) {
            try {
                b.resource.end(b.xid, XAResource.TMSUCCESS);
                b.state = Branch.State.ENDED;
            } catch (XAException | RuntimeException e) {
                rollbackUnprepared(b);
                return new VoteResponse(Vote.ABORT, "ending branch " + b.branchId() + " failed: " + xaMessage(e));
            }
        }
        try {
            int vote = b.resource.prepare(b.xid);
            if (vote == XAResource.XA_RDONLY) {
                b.state = Branch.State.READ_ONLY;
                return new VoteResponse(Vote.READ_ONLY, null);
            }
            b.state = Branch.State.PREPARED;
            return new VoteResponse(Vote.COMMIT, null);
        } catch (XAException | RuntimeException e) {
            int code = e instanceof XAException ? ((XAException) e).errorCode : 0;
            if (code >= XAException.XA_RBBASE && code <= XAException.XA_RBEND) {
                b.state = Branch.State.ROLLED_BACK;
            } else {
                rollbackUnprepared(b);
            }
            log.warn("Prepare of branch {} of joined transaction {} failed: {}; voting ABORT", b, txid(), xaMessage(e));
            return new VoteResponse(Vote.ABORT, "prepare of branch " + b.branchId() + " on resource "
                    + b.resourceName() + " failed: " + xaMessage(e));
        }
    }

    /**
     * {@code POST {callback}/commit}. A prepared branch commits in two phases; an unprepared one only when
     * {@code onePhase} (the coordinator's single-branch optimization).
     *
     * @throws ParticipantException 409 for a two-phase commit of an unprepared branch, 503 when the resource
     *                              failed in a retryable way, 500 when a one-phase commit's outcome is unknown
     */
    synchronized PhaseTwoResponse commit(Branch b, boolean onePhase) {
        startCompleting();
        switch (b.state) {
            case COMMITTED:
            case READ_ONLY:
                return new PhaseTwoResponse(PhaseTwoResponse.COMMITTED, null);
            case ROLLED_BACK:
                return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, null);
            case PREPARED:
                return phaseTwo(b, true);
            case IN_DOUBT:
                throw onePhaseInDoubt(b, null);
            case LEFT_TO_COORDINATOR:
            case HEURISTIC:
                return new PhaseTwoResponse(PhaseTwoResponse.UNKNOWN_BRANCH, "branch " + b.branchId()
                        + " is no longer held here: finish it at resource " + b.resourceName());
            default:
                break;
        }
        if (!onePhase) {
            throw new ParticipantException(409, ProblemTypes.TRANSACTION_NOT_ACTIVE, txid(), false, "branch "
                    + b.branchId() + " of transaction " + txid() + " was never prepared here (it is " + b.state
                    + "): a two-phase commit of it is a protocol error; send PREPARE first", null);
        }
        if (status == Status.STATUS_MARKED_ROLLBACK || b.state == Branch.State.FAILED) {
            rollbackUnprepared(b);
            return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, "transaction " + txid()
                    + " is rollback-only in this service");
        }
        if (b.state == Branch.State.ACTIVE || b.state == Branch.State.SUSPENDED) {
            try {
                b.resource.end(b.xid, XAResource.TMSUCCESS);
                b.state = Branch.State.ENDED;
            } catch (XAException | RuntimeException e) {
                rollbackUnprepared(b);
                return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, "ending the branch failed: " + xaMessage(e));
            }
        }
        try {
            b.resource.commit(b.xid, true);
            b.state = Branch.State.COMMITTED;
            return new PhaseTwoResponse(PhaseTwoResponse.COMMITTED, null);
        } catch (XAException e) {
            int code = e.errorCode;
            if (code >= XAException.XA_RBBASE && code <= XAException.XA_RBEND) {
                b.state = Branch.State.ROLLED_BACK;
                return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, "resource " + b.resourceName()
                        + " rolled back at the one-phase commit: " + XaErrors.codeName(code));
            }
            if (code == XAException.XA_HEURCOM || code == XAException.XA_HEURRB) {
                forgetQuietly(b);
                b.state = code == XAException.XA_HEURCOM ? Branch.State.COMMITTED : Branch.State.ROLLED_BACK;
                return new PhaseTwoResponse(code == XAException.XA_HEURCOM ? PhaseTwoResponse.COMMITTED
                        : PhaseTwoResponse.ROLLED_BACK, null);
            }
            b.state = Branch.State.IN_DOUBT;
            throw onePhaseInDoubt(b, e);
        } catch (RuntimeException e) {
            b.state = Branch.State.IN_DOUBT;
            throw onePhaseInDoubt(b, e);
        }
    }

    private ParticipantException onePhaseInDoubt(Branch b, Throwable cause) {
        log.error("One-phase commit of branch {} of joined transaction {} failed with an unknown outcome ({}):"
                + " check the data", b, txid(), cause == null ? "earlier" : xaMessage(cause));
        return new ParticipantException(500, ProblemTypes.OUTCOME_UNKNOWN, txid(), false, "the one-phase commit of"
                + " branch " + b.branchId() + " of transaction " + txid() + " on resource " + b.resourceName()
                + " failed and its outcome is unknown: it was never prepared, so the database either committed it or"
                + " rolled it back; check the data", cause);
    }

    /** {@code POST {callback}/rollback}: any branch that may hold work rolls back. */
    synchronized PhaseTwoResponse rollback(Branch b) {
        startCompleting();
        switch (b.state) {
            case ROLLED_BACK:
            case READ_ONLY:
                return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, null);
            case COMMITTED:
                return new PhaseTwoResponse(PhaseTwoResponse.COMMITTED, "branch " + b.branchId()
                        + " was already committed");
            case PREPARED:
                return phaseTwo(b, false);
            case IN_DOUBT:
                throw onePhaseInDoubt(b, null);
            case LEFT_TO_COORDINATOR:
            case HEURISTIC:
                return new PhaseTwoResponse(PhaseTwoResponse.UNKNOWN_BRANCH, "branch " + b.branchId()
                        + " is no longer held here: finish it at resource " + b.resourceName());
            default:
                rollbackUnprepared(b);
                return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, null);
        }
    }

    /** Phase 2 of a prepared branch on its parked connection; S6 classification of failures. */
    private PhaseTwoResponse phaseTwo(Branch b, boolean commit) {
        PhaseTwoResult result = XaErrors.finish(b.resource, b.xid, commit);
        if (result.outcome() == PhaseTwoResult.Outcome.RETRY) {
            throw ParticipantException.retryLater(txid(), (commit ? "commit" : "rollback") + " of branch "
                    + b.branchId() + " of transaction " + txid() + " failed and may be retried: " + result.message(), null);
        }
        if (result.xaErrorCode() != null && XaErrors.requiresForget(result.xaErrorCode())) {
            forgetQuietly(b); // the coordinator hears the outcome from us and will not meet the heuristic itself
        }
        switch (result.outcome()) {
            case DONE:
            case ALREADY_DONE_NOTA:
                b.state = commit ? Branch.State.COMMITTED : Branch.State.ROLLED_BACK;
                return new PhaseTwoResponse(commit ? PhaseTwoResponse.COMMITTED : PhaseTwoResponse.ROLLED_BACK, null);
            case HEURISTIC_COMMIT:
                b.state = Branch.State.COMMITTED;
                return new PhaseTwoResponse(PhaseTwoResponse.COMMITTED, commit ? null : result.message());
            case HEURISTIC_ROLLBACK:
                b.state = Branch.State.ROLLED_BACK;
                return new PhaseTwoResponse(PhaseTwoResponse.ROLLED_BACK, commit ? result.message() : null);
            default:
                // Mixed or hazard: neither answer is true. The coordinator finishes the branch at the resource
                // itself (XA bridging), meets the heuristic there, records and surfaces it.
                b.state = Branch.State.HEURISTIC;
                log.error("Branch {} of joined transaction {} ended heuristically: {}", b, txid(), result.message());
                return new PhaseTwoResponse(PhaseTwoResponse.UNKNOWN_BRANCH, result.message());
        }
    }

    // ------------------------------------------------------------------ deadline and completion

    /**
     * The deadline passed with no decision seen here: rolls back every unprepared branch (the coordinator
     * aborts the transaction at its deadline anyway). Prepared branches stay: the decision may be COMMIT.
     */
    synchronized void expire() {
        startCompleting();
        rollbackUnprepared();
    }

    /**
     * Prepared branches waited for their phase 2 past the hold time: leaves them to the coordinator, which
     * finishes them by XA bridging (they answer UNKNOWN_BRANCH from now on).
     */
    synchronized void leavePreparedToCoordinator() {
        for (Branch b : branches) {
            if (b.state == Branch.State.PREPARED) {
                b.state = Branch.State.LEFT_TO_COORDINATOR;
                log.warn("Branch {} of joined transaction {} is still prepared {} after the deadline; this service stops"
                        + " holding it and the coordinator finishes it at resource {}", b, txid(),
                        registry.settings().preparedHold(), b.resourceName());
            }
        }
    }

    /** True when no branch holds work any more (or there was none). */
    synchronized boolean allBranchesDone() {
        for (Branch b : branches) {
            if (!done(b)) {
                return false;
            }
        }
        return true;
    }

    private static boolean done(Branch b) {
        switch (b.state) {
            case COMMITTED:
            case ROLLED_BACK:
            case READ_ONLY:
            case LEFT_TO_COORDINATOR:
            case HEURISTIC:
            case IN_DOUBT:
                return true;
            default:
                return false;
        }
    }

    /**
     * Ends this transaction here: status from the branches' outcomes, then afterCompletion (which returns
     * the connections to their pools). Returns each branch's final state for the registry to remember.
     */
    synchronized List<Branch> finish() {
        if (finished) {
            return List.of();
        }
        assert allBranchesDone() : "finishing joined transaction " + txid() + " with branches at work: " + branches;
        boolean committed = false;
        boolean unknown = branches.isEmpty();
        for (Branch b : branches) {
            committed |= b.state == Branch.State.COMMITTED;
            unknown |= b.state == Branch.State.LEFT_TO_COORDINATOR || b.state == Branch.State.IN_DOUBT
                    || b.state == Branch.State.HEURISTIC;
        }
        // Without a branch this service never hears the outcome: synchronizations learn "unknown".
        status = unknown ? Status.STATUS_UNKNOWN : committed ? Status.STATUS_COMMITTED : Status.STATUS_ROLLEDBACK;
        completing = true;
        finished = true;
        afterCompletion();
        return new ArrayList<>(branches);
    }

    private static String xaMessage(Throwable e) {
        return e instanceof XAException ? XaErrors.codeName(((XAException) e).errorCode)
                + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")") : e.toString();
    }
}
