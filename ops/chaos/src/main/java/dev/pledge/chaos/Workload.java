package dev.pledge.chaos;

import dev.pledge.sdk.Pledge;
import dev.pledge.sdk.jta.PledgeTransaction;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.jta.PledgeTransactionManager.ResourceCheck;
import dev.pledge.sdk.jta.TransactionInDoubtException;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import jakarta.transaction.Status;

import javax.sql.DataSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The application the campaign crashes: a plain-Java participant on the SDK ({@link Pledge} builder), run as
 * its own JVM, keeping no log. Each of its threads loops over three kinds of global transaction:
 * <ul>
 * <li><b>transfer</b>: move money between an account in {@code bank_a} and one in {@code bank_b} and write a
 * {@code transfer_log} row keyed by the txid in both (two SDK branches, early-prepared);</li>
 * <li><b>driven transfer</b>: the same, with the {@code bank_b} side done by a {@link DrivenParticipant}
 * (registered ACTIVE with a callback, prepared by the coordinator);</li>
 * <li><b>process</b>: receive one message from {@code chaos.in} and insert its key into {@code processed}
 * (primary key) in {@code bank_a}, acknowledged in the same XA transaction (exactly-once).</li>
 * </ul>
 * Arguments are {@code key=value}: {@code coordinator}, {@code token}, {@code postgres} (JDBC URL prefix up to
 * the port), {@code broker}, {@code threads}, {@code instance}, {@code seed}, {@code timeout-ms},
 * {@code outcome-wait-ms}. Prints
 * {@code WORKLOAD READY} once working and {@code WORKLOAD STOPPED ...} after a line {@code stop} (or end of
 * input) on stdin; SDK failpoints are armed by the {@code pledge.failpoint.*} system properties.
 */
public final class Workload {
    private final PledgeTransactionManager tm;
    private final DataSource bankA;
    private final DataSource bankB;
    private final jakarta.jms.ConnectionFactory mq;
    private final DrivenParticipant driven;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong transfers = new AtomicLong();
    private final AtomicLong drivenTransfers = new AtomicLong();
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong inDoubt = new AtomicLong();
    private final AtomicLong reported = new AtomicLong();
    private static final int MAX_REPORTED = 20;

    private Workload(PledgeTransactionManager tm, DataSource bankA, DataSource bankB, jakarta.jms.ConnectionFactory mq,
                     DrivenParticipant driven) {
        this.tm = tm;
        this.bankA = bankA;
        this.bankB = bankB;
        this.mq = mq;
        this.driven = driven;
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = parse(argv);
        String coordinator = required(args, "coordinator");
        String token = required(args, "token");
        String postgres = required(args, "postgres");
        String broker = required(args, "broker");
        String instance = required(args, "instance");
        int threads = Integer.parseInt(args.getOrDefault("threads", "4"));
        long seed = Long.parseLong(args.getOrDefault("seed", "1"));
        Duration timeout = Duration.ofMillis(Long.parseLong(args.getOrDefault("timeout-ms", "3000")));
        // how long a commit keeps asking for an outcome it could not learn (S8), and one call's retries
        Duration outcomeWait = Duration.ofMillis(Long.parseLong(args.getOrDefault("outcome-wait-ms", "20000")));
        Duration maxRetry = Duration.ofMillis(Math.min(10_000, outcomeWait.toMillis() / 2));
        // a row a prepared (in-doubt) branch holds must not stall a thread for long: fail, roll back, go on
        String options = "?options=-c%20lock_timeout%3D1500";

        Pledge pledge = Pledge.builder().coordinatorUrl(coordinator).token(token).instanceId(instance)
                .defaultTimeout(timeout).outcomeWait(outcomeWait).maxRetryTime(maxRetry)
                .requestTimeout(Duration.ofSeconds(10)).build();
        DataSource bankA = pledge.dataSource(new XaDataSourceConfig(ChaosSchema.BANK_A, null,
                postgres + "/" + ChaosSchema.BANK_A + options, "postgres", null, threads + 2, Duration.ofSeconds(10)));
        DataSource bankB = pledge.dataSource(new XaDataSourceConfig(ChaosSchema.BANK_B, null,
                postgres + "/" + ChaosSchema.BANK_B + options, "postgres", null, threads + 2, Duration.ofSeconds(10)));
        // prefetch 0: a consumer holds no messages it has not received in a transaction; redelivered forever,
        // so a message that keeps failing stays visible in the queue instead of moving to the DLQ
        jakarta.jms.ConnectionFactory mq = pledge.connectionFactory(ChaosSchema.MQ, broker
                + "?jms.prefetchPolicy.all=0&jms.redeliveryPolicy.maximumRedeliveries=-1");
        awaitCoordinator(pledge, Duration.ofSeconds(90));
        pledge.checkResources(ResourceCheck.FAIL);
        DrivenParticipant driven = new DrivenParticipant(ChaosSchema.BANK_B, instance + "-drv",
                postgres + "/" + ChaosSchema.BANK_B + options, "postgres", token, pledge.client());
        Workload w = new Workload(pledge.transactionManager(), bankA, bankB, mq, driven);

        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Random random = new Random(seed * 31 + i);
            Thread t = new Thread(() -> w.loop(random), "workload-" + i);
            workers.add(t);
            t.start();
        }
        System.out.println("WORKLOAD READY pid=" + ProcessHandle.current().pid());
        System.out.flush();

        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
                // only "stop" means anything
            }
        }
        w.stop.set(true);
        for (Thread t : workers) {
            t.join(30_000);
        }
        driven.close();
        pledge.close();
        System.out.println("WORKLOAD STOPPED transfers=" + w.transfers + " driven=" + w.drivenTransfers
                + " processed=" + w.processed + " failed=" + w.failed + " in-doubt=" + w.inDoubt);
        System.out.flush();
        System.exit(0);
    }

    /** The campaign may start this process while the coordinator is still starting: wait until it answers. */
    private static void awaitCoordinator(Pledge pledge, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                pledge.client().resources();
                return;
            } catch (RuntimeException e) {
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("the coordinator did not answer within " + timeout, e);
                }
                Thread.sleep(200);
            }
        }
    }

    private void loop(Random random) {
        while (!stop.get()) {
            int kind = random.nextInt(10);
            try {
                if (kind < 4) {
                    transfer(random, false);
                    transfers.incrementAndGet();
                } else if (kind < 6) {
                    transfer(random, true);
                    drivenTransfers.incrementAndGet();
                } else if (process()) {
                    processed.incrementAndGet();
                }
            } catch (TransactionInDoubtException e) {
                inDoubt.incrementAndGet();
                report("IN-DOUBT", e);
            } catch (Exception e) {
                failed.incrementAndGet();
                report("FAILED", e);
                pause(20);
            } finally {
                abandon();
            }
        }
    }

    /** One transfer between a bank_a and a bank_b account, both legs and both log rows in one transaction. */
    private void transfer(Random random, boolean drivenLeg) throws Exception {
        long amount = 1 + random.nextInt(100);
        long deltaA = random.nextBoolean() ? -amount : amount;
        int accountA = 1 + random.nextInt(ChaosSchema.ACCOUNTS);
        int accountB = 1 + random.nextInt(ChaosSchema.ACCOUNTS);
        tm.begin("chaos-transfer");
        PledgeTransaction tx = tm.getTransaction();
        String txid = tx.txid();
        try {
            try (Connection a = bankA.getConnection()) {
                move(a, txid, accountA, deltaA, drivenLeg);
            }
            if (drivenLeg) {
                // the coordinator, not this process, decides the bank_b branch: always ask it
                tx.markPropagated();
                driven.work(txid, b -> move(b, txid, accountB, -deltaA, true));
            } else {
                try (Connection b = bankB.getConnection()) {
                    move(b, txid, accountB, -deltaA, false);
                }
            }
            tm.commit();
        } finally {
            if (drivenLeg) {
                driven.afterCompletion(txid);
            }
        }
    }

    private static void move(Connection c, String txid, int account, long delta, boolean drivenLeg) throws SQLException {
        try (PreparedStatement update = c.prepareStatement("UPDATE accounts SET balance = balance + ? WHERE id = ?");
             PreparedStatement log = c.prepareStatement(
                     "INSERT INTO transfer_log (txid, account, delta, driven) VALUES (?, ?, ?, ?)")) {
            update.setLong(1, delta);
            update.setInt(2, account);
            if (update.executeUpdate() != 1) {
                throw new SQLException("account " + account + " does not exist");
            }
            log.setString(1, txid);
            log.setInt(2, account);
            log.setLong(3, delta);
            log.setBoolean(4, drivenLeg);
            log.executeUpdate();
        }
    }

    /** Receives one message and records it as processed, in one transaction; false when the queue was empty. */
    private boolean process() throws Exception {
        tm.begin("chaos-process");
        String txid = tm.getTransaction().txid();
        String key;
        try (jakarta.jms.Connection connection = mq.createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer consumer = session.createConsumer(session.createQueue(ChaosSchema.QUEUE));
            Message m = consumer.receive(250);
            if (m == null) {
                tm.rollback();
                pause(50);
                return false;
            }
            key = ((TextMessage) m).getText();
            try (Connection a = bankA.getConnection();
                 PreparedStatement insert = a.prepareStatement("INSERT INTO processed (msg_key, txid) VALUES (?, ?)")) {
                insert.setString(1, key);
                insert.setString(2, txid);
                insert.executeUpdate();
            }
        }
        tm.commit();
        return true;
    }

    /** The first failures of a run, one line each: a crash campaign wants to know why work failed, not every time. */
    private void report(String what, Exception e) {
        if (reported.incrementAndGet() <= MAX_REPORTED) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            System.out.println("WORKLOAD " + what + " " + e + (root == e ? "" : " <- " + root));
        }
    }

    /** Whatever went wrong, the thread leaves no transaction behind (rollback before any commit request is safe). */
    private void abandon() {
        int status = tm.getStatus();
        if (status == Status.STATUS_NO_TRANSACTION) {
            return;
        }
        try {
            if (status == Status.STATUS_ACTIVE || status == Status.STATUS_MARKED_ROLLBACK) {
                tm.rollback();
            }
        } catch (Exception | Error e) {
            // the coordinator rolls it back at its deadline
        } finally {
            tm.suspend();
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static Map<String, String> parse(String[] argv) {
        Map<String, String> args = new HashMap<>();
        for (String a : argv) {
            int eq = a.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("argument '" + a + "' is not key=value");
            }
            args.put(a.substring(0, eq), a.substring(eq + 1));
        }
        return args;
    }

    private static String required(Map<String, String> args, String key) {
        String v = args.get(key);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("workload argument " + key + "=... is missing");
        }
        return v;
    }
}
