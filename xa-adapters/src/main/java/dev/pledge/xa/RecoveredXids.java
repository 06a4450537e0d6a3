package dev.pledge.xa;

import javax.transaction.xa.Xid;
import java.util.ArrayList;
import java.util.List;

/**
 * The prepared branches a resource reported in one recovery scan: this cluster's ({@code ours}) and
 * the rest ({@code foreign}), which must never be touched without an explicit operator action.
 */
public record RecoveredXids(String resource, List<PledgeXid> ours, List<ForeignXid> foreign) {

    public RecoveredXids {
        ours = List.copyOf(ours);
        foreign = List.copyOf(foreign);
    }

    /** Splits raw XIDs from {@code XAResource.recover} with {@link XidCodec#decode}. */
    public static RecoveredXids split(String resource, Xid[] xids, String clusterId) {
        List<PledgeXid> ours = new ArrayList<>();
        List<ForeignXid> foreign = new ArrayList<>();
        if (xids != null) {
            for (Xid xid : xids) {
                XidCodec.decode(xid, clusterId).ifPresentOrElse(ours::add, () -> foreign.add(ForeignXid.copyOf(xid)));
            }
        }
        return new RecoveredXids(resource, ours, foreign);
    }

    public boolean isEmpty() {
        return ours.isEmpty() && foreign.isEmpty();
    }
}
