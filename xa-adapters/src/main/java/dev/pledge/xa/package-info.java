/**
 * The Pledge XID format ({@link dev.pledge.xa.XidCodec}, {@link dev.pledge.xa.PledgeXid}) and one
 * adapter per resource manager ({@link dev.pledge.xa.XaResourceAdapter}, created by
 * {@link dev.pledge.xa.XaResourceAdapters} for PostgreSQL, H2 and ActiveMQ Classic): recovery scans,
 * phase-2 commit/rollback by XID from a new connection, XAException classification
 * ({@link dev.pledge.xa.XaErrors}, safety rule S6), health and diagnostics.
 *
 * <p>Depends only on the JTA API ({@code javax.transaction.xa}, jakarta.transaction-api) and the
 * resource managers' own client libraries (pgjdbc, H2, activemq-client); used by the coordinator and
 * the participant SDK, never the other way round. What each resource manager really does with a
 * prepared branch is measured by this module's tests and written down in docs/resources.md.
 */
package dev.pledge.xa;
