package dev.pledge.xa;

import javax.transaction.xa.Xid;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The prepared branches of one resource with what its resource manager can tell about them, for the
 * operations console.
 *
 * @param observedAt when the resource was asked (its own clock where it has one)
 * @param note       what this resource type cannot show, or null
 */
public record ResourceDiagnostics(String resource, String type, Instant observedAt,
                                  List<PreparedBranch> branches, String note) {

    public ResourceDiagnostics {
        branches = List.copyOf(branches);
    }

    /**
     * One prepared branch. Fields this resource type cannot know are null (locks: empty).
     *
     * @param xid        a {@link PledgeXid} when {@code ours}, a {@link ForeignXid} otherwise; null when
     *                   the resource holds a prepared transaction that is not an XA branch at all
     *                   (PostgreSQL: {@code PREPARE TRANSACTION 'name'} by hand)
     * @param ours       this cluster's XID: the coordinator will resolve it; foreign ones only an operator
     * @param nativeId   the resource manager's own name for it (PostgreSQL: the GID)
     * @param preparedAt when it was prepared
     * @param age        observedAt - preparedAt
     */
    public record PreparedBranch(Xid xid, boolean ours, String nativeId, Instant preparedAt, Duration age,
                                 String database, String owner, List<HeldLock> locks) {
        public PreparedBranch {
            locks = List.copyOf(locks);
        }
    }

    /**
     * One lock held by a prepared branch (PostgreSQL {@code pg_locks}).
     *
     * @param target the locked relation's name, or the transaction id / tuple for other lock types
     */
    public record HeldLock(String lockType, String mode, boolean granted, String target) {
    }
}
