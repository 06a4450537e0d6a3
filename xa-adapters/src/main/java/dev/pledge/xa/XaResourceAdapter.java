package dev.pledge.xa;

import javax.transaction.xa.Xid;

/**
 * One resource manager the coordinator can reach directly ("XA bridging", DESIGN.md §6).
 *
 * <p>Every call opens its own XA connection and closes it before returning: phase 2 and recovery
 * never run on the connection that did the work, and an adapter holds no connection between calls.
 * Every wait is bounded (connect, login and socket timeouts; see each implementation). Instances are
 * immutable and thread-safe.
 */
public interface XaResourceAdapter {

    /** The configured resource name, as participants name it when they register branches. */
    String name();

    /** {@code postgresql}, {@code h2} or {@code activemq}. */
    String type();

    /**
     * All prepared branches the resource manager reports ({@code recover(TMSTARTRSCAN | TMENDRSCAN)}),
     * split into this cluster's XIDs and foreign ones (another format id or another cluster).
     *
     * @throws XaResourceException when the resource cannot be reached or refuses the scan
     */
    RecoveredXids recover(String clusterId);

    /**
     * Commits a prepared branch from a new connection. Never throws: failures come back classified
     * (safety rule S6), see {@link PhaseTwoResult}.
     */
    PhaseTwoResult commit(Xid xid);

    /** Rolls back a prepared branch from a new connection; classified like {@link #commit}. */
    PhaseTwoResult rollback(Xid xid);

    /**
     * XA {@code forget} of a branch the resource completed heuristically, from a new connection (an
     * operator's FORGET). Never throws: DONE, ALREADY_DONE_NOTA when the resource holds nothing to
     * forget for this XID, or RETRY when it could not be asked.
     */
    PhaseTwoResult forget(Xid xid);

    /** A cheap connect (bounded to a few seconds) for health checks. Never throws. */
    ResourceHealth ping();

    /**
     * The prepared branches with whatever the resource manager tells about them (PostgreSQL: age,
     * database, owner, locks held; others: the XID only).
     *
     * @throws XaResourceException when the resource cannot be reached
     */
    ResourceDiagnostics diagnostics(String clusterId);
}
