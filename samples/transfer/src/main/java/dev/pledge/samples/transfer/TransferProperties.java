package dev.pledge.samples.transfer;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code transfer.*}: the banks' shape and the batch to run. The database connections themselves are
 * {@code bank.*} (see application.yml), which feed {@code pledge.datasources.*} or the Atomikos pools.
 *
 * @param accounts       accounts per bank, ids 1..accounts
 * @param initialBalance balance each account is created with
 * @param initSchema     create the tables (and PostgreSQL's overdraft check) at start-up when missing
 * @param load           the batch run at start-up
 */
@ConfigurationProperties("transfer")
public record TransferProperties(@DefaultValue("100") int accounts,
                                 @DefaultValue("100000") long initialBalance,
                                 @DefaultValue("true") boolean initSchema,
                                 @DefaultValue Load load) {

    public TransferProperties {
        if (accounts < 2 || accounts > 1_000_000) {
            throw new IllegalArgumentException("transfer.accounts=" + accounts + " is out of range: use 2..1000000");
        }
        if (initialBalance < 0) {
            throw new IllegalArgumentException("transfer.initial-balance=" + initialBalance + " must not be negative");
        }
    }

    /**
     * @param enabled            run the batch at start-up, then exit
     * @param threads            concurrent transfers
     * @param transfersPerThread transfers each thread makes
     * @param maxAmount          amounts are 1..maxAmount, either direction
     * @param seed               random seed of accounts, amounts and directions
     */
    public record Load(@DefaultValue("true") boolean enabled,
                       @DefaultValue("8") int threads,
                       @DefaultValue("100") int transfersPerThread,
                       @DefaultValue("100") long maxAmount,
                       @DefaultValue("1") long seed) {
        public Load {
            if (threads < 1 || threads > 256) {
                throw new IllegalArgumentException("transfer.load.threads=" + threads + " is out of range: use 1..256");
            }
            if (transfersPerThread < 0 || transfersPerThread > 10_000_000) {
                throw new IllegalArgumentException("transfer.load.transfers-per-thread=" + transfersPerThread
                        + " is out of range: use 0..10000000");
            }
            if (maxAmount < 1) {
                throw new IllegalArgumentException("transfer.load.max-amount=" + maxAmount + " must be at least 1");
            }
        }
    }
}
