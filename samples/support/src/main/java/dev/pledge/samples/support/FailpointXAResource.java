package dev.pledge.samples.support;

import dev.pledge.xa.ForwardingXAResource;

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
public final class FailpointXAResource extends ForwardingXAResource {

    public FailpointXAResource(XAResource delegate) {
        super(delegate);
    }

    @Override
    public void commit(Xid xid, boolean onePhase) throws XAException {
        if (!onePhase) {
            // gtrid = ASCII txid (DESIGN.md §3)
            Failpoint.pause(Failpoint.AFTER_DECISION, new String(xid.getGlobalTransactionId(), StandardCharsets.US_ASCII));
        }
        super.commit(xid, onePhase);
    }
}
