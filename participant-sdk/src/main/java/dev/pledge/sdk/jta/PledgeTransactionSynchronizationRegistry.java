package dev.pledge.sdk.jta;

import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.TransactionSynchronizationRegistry;

/**
 * The {@link TransactionSynchronizationRegistry} of a {@link PledgeTransactionManager}: per-transaction
 * resources and interposed synchronizations (before-completion after the regular ones, after-completion
 * before them), always about the calling thread's transaction.
 */
public final class PledgeTransactionSynchronizationRegistry implements TransactionSynchronizationRegistry {
    private final PledgeTransactionManager tm;

    PledgeTransactionSynchronizationRegistry(PledgeTransactionManager tm) {
        this.tm = tm;
    }

    /** The thread's {@link PledgeTransaction} (unique, usable as a map key), or null. */
    @Override
    public Object getTransactionKey() {
        return tm.getTransaction();
    }

    @Override
    public void putResource(Object key, Object value) {
        require("putResource").putResource(key, value);
    }

    @Override
    public Object getResource(Object key) {
        return require("getResource").getResource(key);
    }

    @Override
    public void registerInterposedSynchronization(Synchronization sync) {
        require("registerInterposedSynchronization").registerInterposedSynchronization(sync);
    }

    @Override
    public int getTransactionStatus() {
        PledgeTransaction tx = tm.getTransaction();
        return tx == null ? Status.STATUS_NO_TRANSACTION : tx.getStatus();
    }

    @Override
    public void setRollbackOnly() {
        require("setRollbackOnly").setRollbackOnly();
    }

    @Override
    public boolean getRollbackOnly() {
        return require("getRollbackOnly").getStatus() == Status.STATUS_MARKED_ROLLBACK;
    }

    private PledgeTransaction require(String what) {
        PledgeTransaction tx = tm.getTransaction();
        if (tx == null) {
            throw new IllegalStateException(what + ": no transaction is associated with thread "
                    + Thread.currentThread().getName());
        }
        return tx;
    }
}
