package dev.pledge.xa;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.util.Objects;

/**
 * An {@link XAResource} that forwards every call to another, for wrappers that add to a few calls
 * (a name, a failpoint) and leave the rest alone; the XA API has no such base class of its own.
 * {@link #isSameRM} unwraps another forwarding resource, so two wrappers of one resource manager
 * still compare as one.
 */
public abstract class ForwardingXAResource implements XAResource {
    private final XAResource delegate;

    protected ForwardingXAResource(XAResource delegate) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    public XAResource delegate() {
        return delegate;
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
    public void commit(Xid xid, boolean onePhase) throws XAException {
        delegate.commit(xid, onePhase);
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
        return delegate.isSameRM(other instanceof ForwardingXAResource forwarding ? forwarding.delegate : other);
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
