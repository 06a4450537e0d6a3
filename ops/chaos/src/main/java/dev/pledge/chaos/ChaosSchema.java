package dev.pledge.chaos;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The data the workload writes and the invariants read: two banks (PostgreSQL databases {@code bank_a} and
 * {@code bank_b}, registered at the coordinator under the same resource names), each with accounts and a
 * transfer log keyed by txid; a {@code processed} table in {@code bank_a} keyed by message; and the queue.
 */
final class ChaosSchema {
    static final String BANK_A = "bank_a";
    static final String BANK_B = "bank_b";
    static final String MQ = "mq";
    static final String QUEUE = "chaos.in";
    static final String DEAD_LETTER_QUEUE = "ActiveMQ.DLQ";
    static final int ACCOUNTS = 20;
    static final long INITIAL_BALANCE = 10_000;

    private ChaosSchema() {
    }

    /** Creates the tables of one bank and gives every account its initial balance. */
    static void create(Connection c, boolean withProcessed) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)");
            // delta: what this transfer did to this bank's account (the other bank's row has the opposite sign)
            s.execute("CREATE TABLE transfer_log (txid VARCHAR(80) PRIMARY KEY, account INT NOT NULL,"
                    + " delta BIGINT NOT NULL, driven BOOLEAN NOT NULL)");
            if (withProcessed) {
                s.execute("CREATE TABLE processed (msg_key VARCHAR(80) PRIMARY KEY, txid VARCHAR(80) NOT NULL)");
            }
            s.execute("INSERT INTO accounts SELECT g, " + INITIAL_BALANCE + " FROM generate_series(1, " + ACCOUNTS + ") g");
        }
    }

    /** The total both banks hold together, forever. */
    static long totalMoney() {
        return 2L * ACCOUNTS * INITIAL_BALANCE;
    }
}
