package dev.pledge.samples.support;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;

/**
 * An XAResource whose two-phase {@code commit} stops at {@link Failpoint#AFTER_DECISION} instead of
 * committing. The SDK calls {@code commit(xid, false)} only after the coordinator answered COMMITTED,
 * and on its first branch before any other, so the process stops with every branch prepared and none
 * committed. One-phase commits (a transaction with a single branch) pass through.
 */
public final class FailpointXAResource implements XAResource {
    private final XAResource delegate;

    public FailpointXAResource(XAResource delegate) {
        this.delegate = delegate;
    }

    @Override
    public void commit(Xid xid, boolean onePhase) throws XAException {
        if (!onePhase) {
            // gtrid = ASCII txid (DESIGN.md §3)
            Failpoint.pause(Failpoint.AFTER_DECISION, new String(xid.getGlobalTransactionId(), StandardCharsets.US_ASCII));
        }
        delegate.commit(xid, onePhase);
    }

    @Override
    public void start(Xid xid, int flags) throws XAException {
        delegate.start(xid, flags);
    }

    @Override
    public void end(Xid xid, int flags) throws XAException {
        delegate.end(xid, flags);
    }

    @Override
    public int prepare(Xid xid) throws XAException {
        return delegate.prepare(xid);
    }

    @Override
    public void rollback(Xid xid) throws XAException {
        delegate.rollback(xid);
    }

    @Override
    public void forget(Xid xid) throws XAException {
        delegate.forget(xid);
    }

    @Override
    public Xid[] recover(int flag) throws XAException {
        return delegate.recover(flag);
    }

    @Override
    public boolean isSameRM(XAResource other) throws XAException {
        return delegate.isSameRM(other instanceof FailpointXAResource ? ((FailpointXAResource) other).delegate : other);
    }

    @Override
    public int getTransactionTimeout() throws XAException {
        return delegate.getTransactionTimeout();
    }

    @Override
    public boolean setTransactionTimeout(int seconds) throws XAException {
        return delegate.setTransactionTimeout(seconds);
    }
}
