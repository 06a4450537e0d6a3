package dev.pledge.sdk.pool;

import dev.pledge.sdk.jta.NamedXAResource;
import dev.pledge.sdk.jta.PledgeTransaction;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import io.agroal.api.transaction.TransactionAware;
import io.agroal.api.transaction.TransactionIntegration;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import java.sql.SQLException;

/**
 * Plugs one Agroal pool into the {@link PledgeTransactionManager} (Agroal's
 * {@link TransactionIntegration} SPI). Inside a transaction, the first connection a thread takes from
 * the pool is enlisted as a branch named after this pool's resource, and every later
 * {@code getConnection()} of that transaction gets the same connection (one branch per pool per
 * transaction); it returns to the pool when the transaction completes.
 *
 * <p>In a transaction joined from another service ({@code Pledge-Txid}) the connection outlives the request:
 * its branch is ended and <em>parked</em> with it, out of the pool, and the next request of the transaction
 * gets the same connection back and re-joins the branch ({@code start(xid, TMJOIN)} on that same XA
 * connection, the one join PostgreSQL's driver supports). A branch that was prepared is sealed: a later
 * request gets a new connection and a new branch.
 *
 * <p><b>One instance per pool</b>: the instance is the key under which the transaction keeps the
 * pool's connection, so sharing one between two pools would hand one database's connection to the other.
 *
 * <p>A branch left prepared (the decision could not be learned, S8) must not reuse or reset its
 * connection: the connection is removed from the pool (PostgreSQL keeps the prepared branch), or, for
 * resource managers that lose a prepared branch with its connection (H2), kept open and out of the
 * pool until the pool closes, so the coordinator can still finish the branch.
 */
public final class PledgeTransactionIntegration implements TransactionIntegration {
    private static final Logger log = LoggerFactory.getLogger(PledgeTransactionIntegration.class);

    private final PledgeTransactionManager tm;
    private final String resourceName;
    private final boolean preparedSurvivesClose;
    private volatile ResourceRecoveryFactory recoveryFactory;

    /**
     * @param resourceName          the name the coordinator knows this database by
     * @param preparedSurvivesClose true when a prepared branch survives its connection's close
     *                              (PostgreSQL); false keeps such a connection open (H2)
     */
    public PledgeTransactionIntegration(PledgeTransactionManager tm, String resourceName, boolean preparedSurvivesClose) {
        this.tm = tm;
        this.resourceName = NamedXAResource.requireValidName(resourceName);
        this.preparedSurvivesClose = preparedSurvivesClose;
        tm.registerResourceName(resourceName);
    }

    public String resourceName() {
        return resourceName;
    }

    @Override
    public TransactionAware getTransactionAware() throws SQLException {
        PledgeTransaction tx = tm.getTransaction();
        if (tx == null) {
            return null;
        }
        int status = tx.getStatus();
        if (status == Status.STATUS_ACTIVE || status == Status.STATUS_MARKED_ROLLBACK) {
            Held held = resourceOf(tx);
            return held == null || held.branch.sealed() ? null : held.connection;
        }
        if (status == Status.STATUS_ROLLEDBACK) {
            throw new SQLException("transaction " + tx.txid() + " has rolled back: no connection of resource "
                    + resourceName + " can join it");
        }
        return null;
    }

    @Override
    public void associate(TransactionAware connection, XAResource xaResource) throws SQLException {
        PledgeTransaction tx = tm.getTransaction();
        int status = tx == null ? Status.STATUS_NO_TRANSACTION : tx.getStatus();
        try {
            if (status == Status.STATUS_ACTIVE || status == Status.STATUS_MARKED_ROLLBACK) {
                Held held = resourceOf(tx);
                if (held == null || held.connection != connection) {
                    if (xaResource == null) {
                        throw new SQLException("the pool of resource " + resourceName + " gives no XAResource: configure"
                                + " it with an XADataSource class (e.g. org.postgresql.xa.PGXADataSource)");
                    }
                    PooledXaResource branch = new PooledXaResource(connection, xaResource);
                    NamedXAResource named = new NamedXAResource(resourceName, branch);
                    ReturnToPool returnToPool = new ReturnToPool(tx, connection, branch);
                    tm.synchronizationRegistry().registerInterposedSynchronization(returnToPool);
                    tm.synchronizationRegistry().putResource(this, new Held(connection, named, branch));
                    try {
                        tx.enlistResource(named);
                    } catch (Exception | Error e) {
                        // Agroal takes the connection back itself when associate fails: completion must not return it again.
                        returnToPool.disarm();
                        tm.synchronizationRegistry().putResource(this, held);
                        throw e;
                    }
                } else {
                    // Same transaction, same connection: no-op while its branch is active; a parked (ended)
                    // branch of a joined transaction re-joins here with TMJOIN.
                    tx.enlistResource(held.xa);
                    connection.transactionStart();
                }
            }
            connection.transactionCheckCallback(isCompleting(status) ? statusUnchanged(tx, status) : this::transactionRunning);
        } catch (SQLException e) {
            throw e;
        } catch (Exception e) {
            throw new SQLException("could not enlist a connection of resource " + resourceName + " in transaction "
                    + (tx == null ? "-" : tx.txid()) + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean disassociate(TransactionAware connection) {
        PledgeTransaction tx = tm.getTransaction();
        if (tx != null) {
            int status = tx.getStatus();
            Held held = status == Status.STATUS_ACTIVE || status == Status.STATUS_MARKED_ROLLBACK ? resourceOf(tx) : null;
            if (held != null && held.connection == connection) {
                tm.synchronizationRegistry().putResource(this, null);
            }
        }
        return true;
    }

    @Override
    public void addResourceRecoveryFactory(ResourceRecoveryFactory factory) {
        recoveryFactory = factory;
    }

    @Override
    public void removeResourceRecoveryFactory(ResourceRecoveryFactory factory) {
        if (recoveryFactory == factory) {
            recoveryFactory = null;
        }
    }

    /**
     * A new XA connection outside the pool, for {@code recover()} and diagnostics (the caller closes it).
     * Recovery itself is the coordinator's job; this is for tools and tests.
     */
    public XAConnection openRecoveryConnection() throws SQLException {
        ResourceRecoveryFactory factory = recoveryFactory;
        if (factory == null || !factory.isRecoverable()) {
            throw new SQLException("the pool of resource " + resourceName + " offers no recovery connection (is it"
                    + " started, and configured with an XADataSource?)");
        }
        return factory.getRecoveryConnection();
    }

    /** The connection this pool gave the thread's transaction {@code tx}, if any (keyed by this instance). */
    private Held resourceOf(PledgeTransaction tx) {
        assert tm.getTransaction() == tx;
        return (Held) tm.synchronizationRegistry().getResource(this);
    }

    /** What this pool holds in one transaction: the connection, and its branch as enlisted. */
    private static final class Held {
        final TransactionAware connection;
        final NamedXAResource xa;
        final PooledXaResource branch;

        Held(TransactionAware connection, NamedXAResource xa, PooledXaResource branch) {
            this.connection = connection;
            this.xa = xa;
            this.branch = branch;
        }
    }

    private static boolean isCompleting(int status) {
        return status == Status.STATUS_PREPARING || status == Status.STATUS_PREPARED
                || status == Status.STATUS_COMMITTING || status == Status.STATUS_ROLLING_BACK;
    }

    private boolean transactionRunning() {
        int status = tm.getStatus();
        return status == Status.STATUS_ACTIVE || status == Status.STATUS_MARKED_ROLLBACK || isCompleting(status);
    }

    private static TransactionAware.SQLCallable<Boolean> statusUnchanged(PledgeTransaction tx, int status) {
        return () -> tx.getStatus() != status;
    }

    /** Gives the connection back to the pool when its transaction completes. */
    private final class ReturnToPool implements Synchronization {
        private final PledgeTransaction tx;
        private final TransactionAware connection;
        private final PooledXaResource branch;
        private volatile boolean armed = true;

        ReturnToPool(PledgeTransaction tx, TransactionAware connection, PooledXaResource branch) {
            this.tx = tx;
            this.connection = connection;
            this.branch = branch;
        }

        @Override
        public void beforeCompletion() {
        }

        void disarm() {
            armed = false;
        }

        @Override
        public void afterCompletion(int status) {
            if (!armed) {
                return;
            }
            if (branch.leftPrepared()) {
                if (!preparedSurvivesClose) {
                    log.warn("Keeping a connection of resource {} open and out of the pool: its branch of transaction {}"
                            + " is prepared and this resource manager would lose it on close; the coordinator finishes"
                            + " the branch, the connection is released when the pool closes", resourceName, tx.txid());
                    return;
                }
                connection.setFlushOnly(); // the branch lives on in the database; this connection is not reused
            } else if (status == Status.STATUS_UNKNOWN) {
                connection.setFlushOnly();
            }
            try {
                connection.transactionEnd();
            } catch (SQLException e) {
                log.debug("Returning a connection of resource {} after transaction {} failed: {}", resourceName,
                        tx.txid(), e.toString());
            }
        }
    }
}
