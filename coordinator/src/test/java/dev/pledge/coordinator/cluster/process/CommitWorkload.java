package dev.pledge.coordinator.cluster.process;

import dev.pledge.testkit.FakeParticipant;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Client threads running the classic two-branch commit against a cluster, as services would:
 * begin (any node, following redirects), register an ACTIVE branch at each of two
 * {@link FakeParticipant}s, commit, and ask again until there is a decision. Remembers every txid
 * the cluster issued and every decision a client was told, and checks the global invariants
 * against the participants' branch states once the cluster is quiet.
 */
final class CommitWorkload implements AutoCloseable {
    /** A txid issued to a client: when its begin was sent and answered, and which node answered. */
    record Begun(String txid, long sentNanos, long answeredNanos, String node) {
    }

    /** A decision a client was told: when the commit request was first sent, when answered, by which node. */
    record Decided(String txid, String outcome, long sentNanos, long atNanos, String node) {
    }

    private static final long TX_TIMEOUT_MS = 15_000;

    private final List<String> nodes;
    private final FakeParticipant a;
    private final FakeParticipant b;
    private final int threadCount;
    private final long pauseMillis;
    private final Duration patience;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();
    final Map<String, Begun> begun = new ConcurrentHashMap<>();
    final Map<String, Decided> decided = new ConcurrentHashMap<>();
    final AtomicLong errors = new AtomicLong();
    private final List<String> errorSamples = new CopyOnWriteArrayList<>();

    CommitWorkload(List<String> nodes, FakeParticipant a, FakeParticipant b, int threads, long pauseMillis,
                   Duration patience) {
        this.nodes = List.copyOf(nodes);
        this.a = a;
        this.b = b;
        this.threadCount = threads;
        this.pauseMillis = pauseMillis;
        this.patience = patience;
    }

    CommitWorkload start() {
        for (int i = 0; i < threadCount; i++) {
            // each thread starts at a different node and learns the leader on its own
            List<String> order = new ArrayList<>(nodes);
            Collections.rotate(order, i);
            LeaderFollowingClient client = new LeaderFollowingClient(order, ProcessCluster.TOKEN, Duration.ofSeconds(4),
                    patience);
            Thread t = new Thread(() -> run(client), "workload-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        return this;
    }

    private void run(LeaderFollowingClient client) {
        while (!stop.get()) {
            try {
                long sent = System.nanoTime();
                LeaderFollowingClient.Reply r = client.post("/api/v1/transactions", "{\"timeoutMs\":" + TX_TIMEOUT_MS + "}");
                if (r.status() != 201) {
                    error("begin answered " + r.status() + " by " + r.node() + ": " + r.body());
                    continue;
                }
                String txid = r.field("txid");
                begun.put(txid, new Begun(txid, sent, System.nanoTime(), r.node()));
                int ra = client.registerActive(txid, "a:1", "ra", a.callbackUrl());
                int rb = ra == 201 ? client.registerActive(txid, "b:1", "rb", b.callbackUrl()) : ra;
                if (ra != 201 || rb != 201) {
                    // 409: its leader's epoch ended before it was committed; nothing to commit
                    error("register of " + txid + " answered " + ra + "/" + rb);
                    continue;
                }
                long commitSent = System.nanoTime();
                LeaderFollowingClient.Reply c = client.post("/api/v1/transactions/" + txid + "/commit", null);
                if (c.status() != 200) {
                    error("commit of " + txid + " answered " + c.status() + " by " + c.node() + ": " + c.body());
                    continue;
                }
                decided.put(txid, new Decided(txid, c.field("outcome"), commitSent, System.nanoTime(), c.node()));
            } catch (LeaderFollowingClient.Unavailable e) {
                error(e.getMessage());
            }
            if (pauseMillis > 0) {
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private void error(String what) {
        if (errors.incrementAndGet() <= 20) {
            errorSamples.add(what);
        }
    }

    List<String> errorSamples() {
        return List.copyOf(errorSamples);
    }

    /** Commits clients were told about, decided by a leader of {@code epoch} or later, in the order told. */
    List<Decided> committedInEpochAtLeast(long epoch) {
        return decided.values().stream().filter(d -> "COMMITTED".equals(d.outcome())
                        && LeaderFollowingClient.epochOf(d.txid()) >= epoch)
                .sorted(java.util.Comparator.comparingLong(Decided::atNanos)).toList();
    }

    long committedCount() {
        return decided.values().stream().filter(d -> "COMMITTED".equals(d.outcome())).count();
    }

    /** Lets every client finish the transaction it is in (each may still ask for its decision). */
    void stop() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.join(patience.toMillis() * 3 + 5_000);
            if (t.isAlive()) {
                throw new AssertionError(t.getName() + " did not finish its transaction");
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        for (Thread t : threads) {
            t.interrupt();
        }
    }

    /**
     * Waits until every transaction begun (or seen by a participant) is final on the current
     * leader, then checks: a transaction a client was told COMMITTED is COMMITTED; a COMMITTED
     * transaction is committed at both participants; an ABORTED one at neither; no transaction is
     * committed at one participant only. Returns the violations, one line each.
     */
    List<String> violations(LeaderFollowingClient api, Duration quiescence) throws InterruptedException {
        Set<String> txids = new TreeSet<>(begun.keySet());
        a.calls().forEach(c -> txids.add(c.txid()));
        b.calls().forEach(c -> txids.add(c.txid()));
        Map<String, String> states = new ConcurrentHashMap<>();
        long end = System.nanoTime() + quiescence.toNanos();
        while (true) {
            for (String txid : txids) {
                String s = states.get(txid);
                if (!"COMMITTED".equals(s) && !"ABORTED".equals(s)) {
                    states.put(txid, api.state(txid));
                }
            }
            boolean quiet = txids.stream().allMatch(t -> Set.of("COMMITTED", "ABORTED").contains(states.get(t)));
            if (quiet || System.nanoTime() - end > 0) {
                break;
            }
            Thread.sleep(200);
        }
        List<String> violations = new ArrayList<>();
        for (String txid : txids) {
            String state = states.get(txid);
            boolean atA = a.state(txid, "a:1") == FakeParticipant.Branch.COMMITTED;
            boolean atB = b.state(txid, "b:1") == FakeParticipant.Branch.COMMITTED;
            Decided told = decided.get(txid);
            if (!"COMMITTED".equals(state) && !"ABORTED".equals(state)) {
                violations.add(txid + " is not final after " + quiescence + ": " + state + " (a=" + a.state(txid, "a:1")
                        + ", b=" + b.state(txid, "b:1") + ")");
                continue;
            }
            if (atA != atB) {
                violations.add(txid + " is committed at one participant only: a=" + a.state(txid, "a:1") + " b="
                        + b.state(txid, "b:1") + ", cluster says " + state);
            }
            if (state.equals("COMMITTED") && !(atA && atB)) {
                violations.add(txid + " is COMMITTED but committed at a=" + atA + " b=" + atB);
            }
            if (state.equals("ABORTED") && (atA || atB)) {
                violations.add(txid + " is ABORTED but committed at a=" + atA + " b=" + atB);
            }
            if (told != null && !told.outcome().equals(state)) {
                violations.add(txid + " was reported " + told.outcome() + " to its client by " + told.node()
                        + " but is " + state);
            }
        }
        return violations;
    }
}
