package dev.pledge.coordinator.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import dev.pledge.coordinator.log.DecisionTable;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * N {@link RaftDecisionLog} nodes of one Raft group in this JVM, each with its own storage
 * directory under one root and its own loopback port. Ports stay the same across restarts because
 * the group's configuration, addresses included, lives in the Raft log.
 */
final class RaftTestCluster implements AutoCloseable {

    static final String CLUSTER_ID = "test";

    static {
        // Ratis logs every election and segment roll at INFO; keep test output readable.
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.apache.ratis")).setLevel(Level.WARN);
    }

    private final Path root;
    /** Slot i's peer; a replacement takes over a failed node's slot under a new id. */
    private final List<RaftDecisionLog.Peer> peers;
    private final UnaryOperator<RaftDecisionLog.Options> tuning;
    private final RaftDecisionLog[] nodes;
    private int nextPeer;

    private RaftTestCluster(Path root, List<RaftDecisionLog.Peer> peers, UnaryOperator<RaftDecisionLog.Options> tuning) {
        this.root = root;
        this.peers = new ArrayList<>(peers);
        this.tuning = tuning;
        this.nodes = new RaftDecisionLog[peers.size()];
        this.nextPeer = peers.size();
    }

    static RaftTestCluster create(Path root, int size, UnaryOperator<RaftDecisionLog.Options> tuning) {
        List<RaftDecisionLog.Peer> peers = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            peers.add(new RaftDecisionLog.Peer("n" + i, "127.0.0.1", freePort()));
        }
        return new RaftTestCluster(root, peers, tuning);
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<RaftDecisionLog.Peer> peers() {
        return List.copyOf(peers);
    }

    /**
     * Starts a brand-new node (new peer id, port and empty storage) in slot i, which must be
     * stopped, as a joining member: it waits for the leader to add it with setConfiguration.
     */
    RaftDecisionLog startReplacement(int i) throws IOException {
        assertThat(nodes[i]).as("node %s must be stopped before it is replaced", i).isNull();
        peers.set(i, new RaftDecisionLog.Peer("n" + nextPeer++, "127.0.0.1", freePort()));
        RaftDecisionLog log = new RaftDecisionLog(options(i).joining(true));
        log.open();
        nodes[i] = log;
        return log;
    }

    RaftDecisionLog.Options options(int i) {
        // Three servers share this test JVM (and its GC pauses) on a loaded CI machine: elections
        // only when a node is really gone, not when the JVM stalls.
        return tuning.apply(RaftDecisionLog.Options.of(CLUSTER_ID, peers.get(i).id(), List.copyOf(peers), storage(i))
                .withElectionTimeout(java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(2)));
    }

    Path storage(int i) {
        return root.resolve(peers.get(i).id());
    }

    int size() {
        return nodes.length;
    }

    static {
        // A node reopened on the port its previous instance just released may find it still held (seen
        // in CI): RaftDecisionLog's port check then fails, or, if the port is taken between that check
        // and Ratis' bind, Ratis calls System.exit, which would kill the whole test JVM. start() retries
        // for about 9 s: once, with other coordinators busy on the machine, a port stayed taken for over 3 s.
        org.apache.ratis.util.ExitUtils.disableSystemExit();
    }

    /** Opens node i (a new instance on the same storage); it must not be running. */
    RaftDecisionLog start(int i) throws IOException {
        assertThat(nodes[i]).as("node %s is already running", i).isNull();
        for (int attempt = 1; ; attempt++) {
            RaftDecisionLog log = new RaftDecisionLog(options(i));
            try {
                log.open();
                nodes[i] = log;
                return log;
            } catch (IOException | RuntimeException e) {
                if (attempt >= 30 || !cannotBind(e)) {
                    throw e;
                }
                log.close();
                try {
                    Thread.sleep(300);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static boolean cannotBind(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof java.net.BindException || m.contains("Failed to bind")
                    || m.contains("Failed to start Grpc server")) {
                return true;
            }
        }
        return false;
    }

    void startAll() throws IOException {
        for (int i = 0; i < nodes.length; i++) {
            if (nodes[i] == null) {
                start(i);
            }
        }
    }

    void stop(int i) throws IOException {
        RaftDecisionLog log = nodes[i];
        nodes[i] = null;
        if (log != null) {
            log.close();
        }
    }

    /** Closes every running node, in parallel (each close waits for its Raft server to stop). */
    void stopAll() {
        List<Thread> closers = new ArrayList<>();
        for (int i = 0; i < nodes.length; i++) {
            int node = i;
            Thread t = new Thread(() -> {
                try {
                    stop(node);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, "close-" + peers.get(i).id());
            t.start();
            closers.add(t);
        }
        for (Thread t : closers) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    RaftDecisionLog node(int i) {
        return nodes[i];
    }

    boolean isRunning(int i) {
        return nodes[i] != null;
    }

    int indexOf(RaftDecisionLog log) {
        for (int i = 0; i < nodes.length; i++) {
            if (nodes[i] == log) {
                return i;
            }
        }
        throw new IllegalArgumentException(log + " is not running in this cluster");
    }

    List<RaftDecisionLog> running() {
        List<RaftDecisionLog> running = new ArrayList<>();
        for (RaftDecisionLog node : nodes) {
            if (node != null) {
                running.add(node);
            }
        }
        return running;
    }

    Optional<RaftDecisionLog> readyLeader() {
        return running().stream().filter(RaftDecisionLog::isLeaderReady).findFirst();
    }

    /** Waits until some running node is the ready leader, and returns it. */
    RaftDecisionLog awaitReadyLeader(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<RaftDecisionLog> leader = readyLeader();
            if (leader.isPresent()) {
                return leader.get();
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("no ready leader among " + running() + " within " + timeout);
            }
            Thread.sleep(20);
        }
    }

    /** Every running node has applied everything committed so far. */
    void awaitAllCaughtUp(Duration timeout) throws IOException {
        for (RaftDecisionLog node : running()) {
            node.awaitCaughtUp(timeout);
        }
    }

    static void assertSameTable(DecisionTable actual, DecisionTable expected) {
        assertThat(actual.epoch()).as("epoch").isEqualTo(expected.epoch());
        assertThat(actual.pendingCommits()).as("pending commits, in order").isEqualTo(expected.pendingCommits());
        assertThat(actual.heuristics()).as("heuristic records, in order").isEqualTo(expected.heuristics());
        assertThat(actual.recentlyCompletedTxids()).as("remembered completions")
                .isEqualTo(expected.recentlyCompletedTxids());
    }

    @Override
    public void close() {
        stopAll();
    }
}
