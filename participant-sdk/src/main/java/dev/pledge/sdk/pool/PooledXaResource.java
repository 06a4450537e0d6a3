package dev.pledge.sdk.pool;

import dev.pledge.xa.ForwardingXAResource;
import io.agroal.api.transaction.TransactionAware;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;

/**
 * The XA resource of one pooled Agroal connection: tells the pool about the transaction's progress
 * (what Agroal's own Narayana integration does), marks the connection for removal after XA errors, and
 * remembers whether the branch was left prepared, so the connection is not reused with that state.
 */
final class PooledXaResource extends ForwardingXAResource {
    private final TransactionAware connection;
    private volatile boolean prepared;
    /** Prepared, committed or rolled back: the branch takes no more work on this connection. */
    private volatile boolean sealed;

    PooledXaResource(TransactionAware connection, XAResource xa) {
        super(xa);
        this.connection = connection;
    }

    /** True when this branch voted yes and was neither committed nor rolled back through this resource. */
    boolean leftPrepared() {
        return prepared;
    }

    /** True once the branch was prepared or finished: its connection must not be handed out for more work. */
    boolean sealed() {
        return sealed;
    }

    @Override
    public void start(Xid xid, int flags) throws XAException {
        try {
            connection.transactionStart();
            super.start(xid, flags);
        } catch (XAException e) {
            connection.setFlushOnly();
            throw e;
        } catch (Exception e) {
            connection.setFlushOnly();
            XAException x = new XAException("could not start the XA branch: " + e);
            x.errorCode = XAException.XAER_RMFAIL;
            x.initCause(e);
            throw x;
        }
    }

    @Override
    public void end(Xid xid, int flags) throws XAException {
        try {
            super.end(xid, flags);
        } catch (XAException e) {
            boolean rolledBackOnFail = flags == TMFAIL && e.errorCode >= XAException.XA_RBBASE
                    && e.errorCode <= XAException.XA_RBEND;
            if (!rolledBackOnFail) {
                connection.setFlushOnly();
            }
            throw e;
        } catch (RuntimeException e) {
            connection.setFlushOnly();
            throw e;
        }
    }

    @Override
    public int prepare(Xid xid) throws XAException {
        try {
            sealed = true;
            int vote = super.prepare(xid);
            prepared = vote == XA_OK;
            return vote;
        } catch (XAException | RuntimeException e) {
            connection.setFlushOnly();
            throw e;
        }
    }

    @Override
    public void commit(Xid xid, boolean onePhase) throws XAException {
        try {
            sealed = true;
            connection.transactionBeforeCompletion(true);
            super.commit(xid, onePhase);
            prepared = false;
        } catch (XAException | RuntimeException e) {
            connection.setFlushOnly();
            throw e;
        }
    }

    @Override
    public void rollback(Xid xid) throws XAException {
        try {
            sealed = true;
            connection.transactionBeforeCompletion(false);
            super.rollback(xid);
            prepared = false;
        } catch (XAException | RuntimeException e) {
            connection.setFlushOnly();
            throw e;
        }
    }
}
