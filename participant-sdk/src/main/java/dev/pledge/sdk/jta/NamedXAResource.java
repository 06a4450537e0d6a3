package dev.pledge.sdk.jta;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An {@link XAResource} with the name its resource manager is registered under at the coordinator
 * ({@code pledge.resources.<name>} there). {@link PledgeTransaction#enlistResource} takes only these:
 * the name goes into the branch id and tells the coordinator where to finish the branch if this
 * process dies (XA bridging). The SDK's pools ({@code dev.pledge.sdk.pool}) wrap their resources
 * themselves; wrap any other XAResource yourself.
 */
public final class NamedXAResource implements XAResource {
    /** Resource names: what the coordinator accepts, short enough to leave room in a 64-character branch id. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,32}");

    private final String resourceName;
    private final XAResource delegate;

    public NamedXAResource(String resourceName, XAResource delegate) {
        this.resourceName = requireValidName(resourceName);
        this.delegate = Objects.requireNonNull(delegate, "delegate");
    }

    /** Checks a resource name, with a message naming the rule. */
    public static String requireValidName(String resourceName) {
        if (resourceName == null || !NAME.matcher(resourceName).matches()) {
            throw new IllegalArgumentException("resource name '" + resourceName + "' is invalid: use 1-32 characters"
                    + " of [A-Za-z0-9._-], the name the resource is registered under at the coordinator");
        }
        return resourceName;
    }

    public String resourceName() {
        return resourceName;
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

    /** Never used for joining branches (each enlistment is its own branch), answered for completeness. */
    @Override
    public boolean isSameRM(XAResource other) throws XAException {
        return delegate.isSameRM(other instanceof NamedXAResource ? ((NamedXAResource) other).delegate : other);
    }

    @Override
    public int getTransactionTimeout() throws XAException {
        return delegate.getTransactionTimeout();
    }

    @Override
    public boolean setTransactionTimeout(int seconds) throws XAException {
        return delegate.setTransactionTimeout(seconds);
    }

    @Override
    public String toString() {
        return "NamedXAResource[" + resourceName + "]";
    }
}
