package dev.pledge.sdk.jta;

import dev.pledge.xa.PledgeXid;

import javax.transaction.xa.XAResource;

/** One XA branch of a {@link PledgeTransaction}: an enlisted resource and its XID. Guarded by the transaction. */
final class Branch {
    enum State {
        /** Associated with the transaction (between start and end). */
        ACTIVE,
        /** Ended with TMSUSPEND; may be resumed. */
        SUSPENDED,
        /** Ended with TMSUCCESS: ready to prepare. */
        ENDED,
        /** Ended with TMFAIL: the transaction can only roll back. */
        FAILED,
        PREPARED,
        /** Voted XA_RDONLY: nothing to do in phase 2, not reported to the coordinator. */
        READ_ONLY,
        COMMITTED,
        ROLLED_BACK,
        /** Prepared, and its phase 2 is left to the coordinator (XA bridging): retryable failure or unknown outcome. */
        LEFT_TO_COORDINATOR,
        /** The resource reported a heuristic outcome that contradicts the decision. */
        HEURISTIC,
        /** A one-phase commit failed without telling whether it committed (joined transactions): nobody can say. */
        IN_DOUBT
    }

    final NamedXAResource resource;
    /** The object the caller enlisted, compared by identity on re-enlistment and delistment. */
    final XAResource enlisted;
    final PledgeXid xid;
    State state = State.ACTIVE;
    /** Known to the coordinator (joined transactions register their branches; the originator reports them inline). */
    boolean registered;

    Branch(NamedXAResource resource, XAResource enlisted, PledgeXid xid) {
        this.resource = resource;
        this.enlisted = enlisted;
        this.xid = xid;
    }

    String branchId() {
        return xid.branchId();
    }

    String resourceName() {
        return resource.resourceName();
    }

    @Override
    public String toString() {
        return xid.branchId() + " on " + resource.resourceName() + " (" + state + ")";
    }
}
