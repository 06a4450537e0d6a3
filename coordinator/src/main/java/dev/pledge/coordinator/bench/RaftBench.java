package dev.pledge.coordinator.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.HdrHistogram.Histogram;

/**
 * What replication costs and how fast it fails over, measured on coordinator processes started from
 * this jar (each as {@code java -jar}, the way API.md says scripts start one):
 * <ol>
 *   <li>the same commit workload against a single node (file log) and against a 3-node Raft cluster,
 *       one after the other, same machine: decisions/s and commit latency;</li>
 *   <li>leader kills on the cluster under a light load: SIGKILL the leader, time until a commit
 *       decided by a new leader comes back to a client, restart the killed node, wait until it
 *       follows again and has caught up; repeated.</li>
 * </ol>
 * The workload is the one a service using early prepare produces: begin (any node, following
 * 307 redirects to the leader), register two PREPARED branches whose callbacks point at a
 * participant served by this JVM (it answers COMMITTED to every commit), commit. So each decision
 * is one forced COMMIT record plus two phase-2 callbacks and a batched COMPLETED record.
 *
 * <p>Prints a table and, as its last line, {@code RESULT raft_vs_single=<x> failover_p99_ms=<ms>}.
 * Run it with {@code ops/bench/raft-bench.sh}.
 *
 * <p>Arguments (all optional): {@code --jar=PATH} the coordinator jar (default: the jar this class
 * runs from), {@code --threads=16} client threads, {@code --seconds=20} measured time per mode,
 * {@code --warmup=10}, {@code --kills=20}, {@code --failover-threads=4} clients during the kills,
 * {@code --heap=512m} per coordinator, {@code --node-jvm="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
 * JVM options of every coordinator (space-separated; see {@link #DEFAULT_NODE_JVM}),
 * {@code --node-args="--pledge.cluster.election-timeout-min=500ms ..."} more coordinator arguments,
 * {@code --dir=PATH} where the nodes' data goes (default: the system temp directory; it must be on
 * the disk you want to measure).
 */
public final class RaftBench {

    private static final String TOKEN = "raft-bench-token";
    private static final String CLUSTER_ID = "bench";
    private static final Pattern TXID = Pattern.compile("\"txid\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern OUTCOME = Pattern.compile("\"outcome\"\\s*:\\s*\"([A-Z_]+)\"");
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    /**
     * C1 only, serial GC, for every coordinator, in both modes: on a 2-core machine three JVMs that
     * C2-compile Ratis, gRPC and Spring are still compiling minutes later (C2 was the largest CPU user
     * of a measured leader), so neither mode would be in a steady state. {@code --node-jvm=} (empty)
     * gives the JVM's defaults.
     */
    static final List<String> DEFAULT_NODE_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
    private static final Duration FAILOVER_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration REJOIN_TIMEOUT = Duration.ofSeconds(45);
    private static final Duration LOAD_BEFORE_KILL = Duration.ofMillis(1500);

    private RaftBench() {
    }

    record Settings(Path jar, int threads, int seconds, int warmup, int kills, int failoverThreads, String heap,
                    List<String> nodeJvmOptions, List<String> nodeArgs, Path dir) {
        static Settings parse(String[] args) {
            Path jar = null;
            int threads = 16;
            int seconds = 20;
            int warmup = 10;
            int kills = 20;
            int failoverThreads = 4;
            String heap = "512m";
            List<String> nodeJvmOptions = DEFAULT_NODE_JVM;
            List<String> nodeArgs = List.of();
            Path dir = Path.of(System.getProperty("java.io.tmpdir"));
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("unknown argument " + arg + "; expected --jar=PATH, --threads=N,"
                            + " --seconds=N, --warmup=N, --kills=N, --failover-threads=N, --heap=SIZE, --node-jvm=OPTIONS,"
                            + " --node-args=ARGS or --dir=PATH");
                }
                switch (kv[0]) {
                    case "--jar" -> jar = Path.of(kv[1]);
                    case "--threads" -> threads = bounded("--threads", Integer.parseInt(kv[1]), 1, 256);
                    case "--seconds" -> seconds = bounded("--seconds", Integer.parseInt(kv[1]), 1, 600);
                    case "--warmup" -> warmup = bounded("--warmup", Integer.parseInt(kv[1]), 0, 120);
                    case "--kills" -> kills = bounded("--kills", Integer.parseInt(kv[1]), 0, 1000);
                    case "--failover-threads" -> failoverThreads = bounded("--failover-threads", Integer.parseInt(kv[1]), 1, 64);
                    case "--heap" -> heap = kv[1];
                    case "--node-jvm" -> nodeJvmOptions = kv[1].isBlank() ? List.of() : List.of(kv[1].trim().split("\\s+"));
                    case "--node-args" -> nodeArgs = kv[1].isBlank() ? List.of() : List.of(kv[1].trim().split("\\s+"));
                    case "--dir" -> dir = Path.of(kv[1]);
                    default -> throw new IllegalArgumentException("unknown argument " + arg);
                }
            }
            if (jar == null && System.getProperty("pledge.coordinator.jar") != null) {
                jar = Path.of(System.getProperty("pledge.coordinator.jar"));
            }
            if (jar == null) {
                jar = ownJar();
            }
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException("--jar=" + jar + " is not a file: give the coordinator jar"
                        + " (coordinator/target/pledge-coordinator-*.jar)");
            }
            return new Settings(jar, threads, seconds, warmup, kills, failoverThreads, heap, nodeJvmOptions, nodeArgs, dir);
        }

        private static Path ownJar() {
            String cp = System.getProperty("java.class.path", "");
            if (cp.endsWith(".jar") && !cp.contains(java.io.File.pathSeparator)) {
                return Path.of(cp);
            }
            throw new IllegalArgumentException("cannot tell which coordinator jar to start (class path " + cp
                    + "): give --jar=PATH");
        }

        private static int bounded(String name, int value, int min, int max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(name + "=" + value + " is out of range: use " + min + ".." + max);
            }
            return value;
        }
    }

    /** Throughput and latency of one mode. */
    record Throughput(String mode, int nodes, double decisionsPerSecond, Histogram commit, Histogram transaction,
                      long errors, double coordinatorCpuMsPerDecision, double coordinatorCpuWithoutJitMsPerDecision,
                      double clientCpuMsPerDecision, String perNode) {
    }

    /** One leader kill: whom, which term, and how long until a new leader's decision reached a client. */
    record Failover(int round, String killed, long oldTerm, long newTerm, long killToLeaderMs, long killToCommitMs,
                    long rejoinMs) {
    }

    public static void main(String[] args) throws Exception {
        Settings s = Settings.parse(args);
        Path work = Files.createTempDirectory(s.dir(), "raft-bench-");
        System.out.printf(Locale.ROOT, "Pledge Raft benchmark: %d client threads, %d s measured after %d s warm-up per mode;"
                        + " each transaction = begin + 2 PREPARED branches (callbacks to a participant in the"
                        + " benchmark JVM) + commit%n", s.threads(), s.seconds(), s.warmup());
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s, Java %s; coordinators: java -Xmx%s %s-jar %s%s; data in %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"), System.getProperty("os.arch"),
                System.getProperty("java.version"), s.heap(), s.nodeJvmOptions().isEmpty() ? ""
                        : String.join(" ", s.nodeJvmOptions()) + " ", s.jar().getFileName(),
                s.nodeArgs().isEmpty() ? "" : " ... " + String.join(" ", s.nodeArgs()), work);
        System.out.println("load average before: " + loadAverage());

        List<Throughput> results = new ArrayList<>();
        List<Failover> failovers = new ArrayList<>();
        boolean ok = false;
        try (Participant participant = new Participant()) {
            try (Cluster single = new Cluster(s, work.resolve("single"), 1)) {
                single.startAll();
                progress("single node ready; measuring");
                results.add(measure("single (file log)", single, participant, s));
            }
            try (Cluster raft = new Cluster(s, work.resolve("raft"), 3)) {
                raft.startAll();
                raft.awaitLeader(0, READY_TIMEOUT);
                progress("3-node cluster ready; measuring");
                results.add(measure("raft (3 nodes)", raft, participant, s));
                if (s.kills() > 0) {
                    failovers.addAll(failovers(raft, participant, s));
                }
            }
            ok = true;
        } finally {
            if (ok) {
                deleteRecursively(work);
            } else {
                System.err.println("raft-bench: the nodes' data and output are kept in " + work);
            }
        }
        System.out.println("load average after: " + loadAverage());
        print(results, failovers, s);
    }

    // ------------------------------------------------------------------ throughput

    private static Throughput measure(String mode, Cluster cluster, Participant participant, Settings s)
            throws InterruptedException {
        Histogram commit = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        Histogram transaction = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        AtomicLong decided = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        long measureStart = System.nanoTime() + TimeUnit.SECONDS.toNanos(s.warmup());
        long measureEnd = measureStart + TimeUnit.SECONDS.toNanos(s.seconds());
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < s.threads(); i++) {
            Client client = new Client(cluster.apiUrls(), i);
            Histogram myCommit = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
            Histogram myTransaction = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        Client.Transaction tx = client.runTransaction(participant);
                        if (tx.outcome().equals("COMMITTED") && tx.startNanos() >= measureStart && tx.endNanos() <= measureEnd) {
                            myCommit.recordValue(tx.endNanos() - tx.commitSentNanos());
                            myTransaction.recordValue(tx.endNanos() - tx.startNanos());
                            decided.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        errors.incrementAndGet();
                    }
                }
                synchronized (commit) {
                    commit.add(myCommit);
                    transaction.add(myTransaction);
                }
            }, "bench-client-" + i);
            threads.add(t);
            t.start();
        }
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(measureStart - System.nanoTime())));
        long indexBefore = cluster.maxCommitIndex();
        long coordinatorCpuBefore = cluster.cpuNanos();
        java.util.Map<String, Long> threadsBefore = cluster.threadTicksWithoutJit();
        long clientCpuBefore = cpuNanos(ProcessHandle.current());
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(measureEnd - System.nanoTime())));
        long coordinatorCpu = cluster.cpuNanos() - coordinatorCpuBefore;
        long entries = cluster.maxCommitIndex() - indexBefore;
        java.util.Map<String, Long> threadsAfter = cluster.threadTicksWithoutJit();
        long withoutJitTicks = 0;
        for (java.util.Map.Entry<String, Long> t : threadsAfter.entrySet()) {
            withoutJitTicks += t.getValue() - threadsBefore.getOrDefault(t.getKey(), 0L);
        }
        long coordinatorCpuWithoutJit = threadsAfter.isEmpty() ? coordinatorCpu : withoutJitTicks * 10_000_000L;
        double decisions = Math.max(1, decided.get());
        StringBuilder perNode = new StringBuilder();
        for (int i = 0; i < cluster.size(); i++) {
            String prefix = cluster.pid(i) + "/";
            long ticks = 0;
            for (java.util.Map.Entry<String, Long> t : threadsAfter.entrySet()) {
                if (t.getKey().startsWith(prefix)) {
                    ticks += t.getValue() - threadsBefore.getOrDefault(t.getKey(), 0L);
                }
            }
            String role = cluster.view(i).map(Cluster.View::role).orElse("?").toLowerCase(Locale.ROOT);
            perNode.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%s (%s) %.2f ms", cluster.nodeId(i),
                    role, ticks * 10.0 / decisions));
        }
        if (cluster.size() > 1) {
            perNode.append(String.format(Locale.ROOT, "; Raft log entries committed per decision: %.2f", entries / decisions));
        }
        long clientCpu = cpuNanos(ProcessHandle.current()) - clientCpuBefore;
        stop.set(true);
        for (Thread t : threads) {
            t.join(60_000);
        }
        double n = Math.max(1, decided.get());
        Throughput r = new Throughput(mode, cluster.size(), decided.get() / (double) s.seconds(), commit, transaction,
                errors.get(), ms(coordinatorCpu) / n, ms(coordinatorCpuWithoutJit) / n, ms(clientCpu) / n, perNode.toString());
        progress(String.format(Locale.ROOT, "%s: %.0f decisions/s, commit p50 %.1f ms p99 %.1f ms, coordinator CPU %.2f"
                        + " ms/decision (%.2f without the JIT compiler threads), %d errors", mode, r.decisionsPerSecond(),
                ms(commit.getValueAtPercentile(50)), ms(commit.getValueAtPercentile(99)), r.coordinatorCpuMsPerDecision(),
                r.coordinatorCpuWithoutJitMsPerDecision(), r.errors()));
        return r;
    }

    // ------------------------------------------------------------------ fail-over

    private static List<Failover> failovers(Cluster cluster, Participant participant, Settings s) throws Exception {
        List<Failover> out = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        // The clients rest while the killed node restarts: on a small machine its JVM start-up would
        // otherwise compete with them, and the round is about the fail-over, not the restart.
        AtomicBoolean resting = new AtomicBoolean(true);
        // (epoch, time) of the latest commit a client was told, one slot per epoch is enough:
        // the fail-over ends at the first commit of a txid issued in a newer epoch.
        java.util.concurrent.ConcurrentSkipListMap<Long, Long> firstCommitOfEpoch = new java.util.concurrent.ConcurrentSkipListMap<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < s.failoverThreads(); i++) {
            Client client = new Client(cluster.apiUrls(), i);
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        if (resting.get()) {
                            Thread.sleep(10);
                            continue;
                        }
                        Client.Transaction tx = client.runTransaction(participant);
                        if (tx.outcome().equals("COMMITTED")) {
                            firstCommitOfEpoch.putIfAbsent(epochOf(tx.txid()), tx.endNanos());
                        }
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException e) {
                        // a node died under the client: that is the point
                    }
                }
            }, "failover-client-" + i);
            threads.add(t);
            t.start();
        }
        try {
            for (int round = 1; round <= s.kills(); round++) {
                int leader = cluster.awaitLeader(0, READY_TIMEOUT);
                try {
                    cluster.awaitCaughtUp(leader, Duration.ofSeconds(10));
                } catch (IllegalStateException e) {
                    progress("WARNING before kill " + round + ": " + e.getMessage());
                }
                long oldTerm = cluster.view(leader).orElseThrow().term();
                resting.set(false);
                Thread.sleep(LOAD_BEFORE_KILL.toMillis());
                long killedAt = System.nanoTime();
                cluster.kill(leader);
                long deadline = killedAt + FAILOVER_TIMEOUT.toNanos();
                Long committedAt = null;
                long electedAt = -1;
                long newTerm = -1;
                while (System.nanoTime() - deadline < 0) {
                    var newer = firstCommitOfEpoch.tailMap(oldTerm, false).entrySet().stream().findFirst();
                    if (newer.isPresent()) {
                        newTerm = newer.get().getKey();
                        committedAt = newer.get().getValue();
                        break;
                    }
                    if (electedAt < 0) {
                        for (int i = 0; i < cluster.size(); i++) {
                            if (i != leader && cluster.view(i).filter(v -> "LEADER".equals(v.role()) && v.term() > oldTerm)
                                    .isPresent()) {
                                electedAt = System.nanoTime();
                            }
                        }
                    }
                    Thread.sleep(5);
                }
                long killToCommitMs = committedAt == null ? FAILOVER_TIMEOUT.toMillis()
                        : TimeUnit.NANOSECONDS.toMillis(committedAt - killedAt);
                resting.set(true);
                long restartAt = System.nanoTime();
                cluster.start(leader);
                cluster.node(leader).awaitReady(READY_TIMEOUT);
                int newLeader = cluster.awaitLeader(oldTerm + 1, READY_TIMEOUT);
                long rejoinMs;
                try {
                    cluster.awaitFollowing(leader, newLeader, REJOIN_TIMEOUT);
                    rejoinMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartAt);
                } catch (IllegalStateException e) {
                    // Reported, not fatal: the next kill (of the current leader) gives it a new leader.
                    rejoinMs = -1;
                    progress("WARNING " + e.getMessage() + " (is the leader still sending to it? look for"
                            + " 'LogAppenderDaemon failed' in " + cluster.nodeId(newLeader) + ".out)");
                }
                long killToLeaderMs = electedAt < 0 ? killToCommitMs : TimeUnit.NANOSECONDS.toMillis(electedAt - killedAt);
                Failover f = new Failover(round, cluster.nodeId(leader), oldTerm, newTerm, killToLeaderMs, killToCommitMs,
                        rejoinMs);
                out.add(f);
                progress(String.format(Locale.ROOT, "kill %2d/%d: leader %s (term %d) SIGKILLed, new leader after %d ms,"
                                + " first commit of term %d after %d ms%s; restarted, %s", round, s.kills(), f.killed(),
                        oldTerm, killToLeaderMs, newTerm, killToCommitMs, committedAt == null ? " (TIMED OUT)" : "",
                        rejoinMs < 0 ? "NOT following again within " + REJOIN_TIMEOUT.toSeconds() + " s"
                                : "following again after " + rejoinMs + " ms"));
            }
        } finally {
            stop.set(true);
            for (Thread t : threads) {
                t.join(60_000);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ report

    private static void print(List<Throughput> results, List<Failover> failovers, Settings s) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-18s %5s %11s %10s %10s %10s %10s %14s %14s %10s %6s%n", "mode", "nodes",
                "decisions/s", "commit p50", "commit p99", "txn p50", "txn p99", "coord CPU/dec", "(without JIT)",
                "client CPU", "errors");
        for (Throughput r : results) {
            System.out.printf(Locale.ROOT, "%-18s %5d %11.0f %7.1f ms %7.1f ms %7.1f ms %7.1f ms %11.2f ms %11.2f ms %7.2f ms %6d%n",
                    r.mode(), r.nodes(), r.decisionsPerSecond(), ms(r.commit().getValueAtPercentile(50)),
                    ms(r.commit().getValueAtPercentile(99)), ms(r.transaction().getValueAtPercentile(50)),
                    ms(r.transaction().getValueAtPercentile(99)), r.coordinatorCpuMsPerDecision(),
                    r.coordinatorCpuWithoutJitMsPerDecision(), r.clientCpuMsPerDecision(), r.errors());
        }
        for (Throughput r : results) {
            System.out.printf(Locale.ROOT, "%s, CPU per decision by node without the JIT compilers: %s%n", r.mode(), r.perNode());
        }
        System.out.println("(commit: the commit request until its decision; txn: begin + 2 registrations + commit;"
                + " CPU: user + system time per decision of all coordinator processes together, also without their JIT"
                + " compiler threads, and of the client JVM)");
        double ratio = results.size() == 2 && results.get(0).decisionsPerSecond() > 0
                ? results.get(1).decisionsPerSecond() / results.get(0).decisionsPerSecond() : 0;
        long p99 = 0;
        if (!failovers.isEmpty()) {
            Histogram h = new Histogram(3_600_000, 3);
            failovers.forEach(f -> h.recordValue(f.killToCommitMs()));
            Histogram elected = new Histogram(3_600_000, 3);
            failovers.forEach(f -> elected.recordValue(f.killToLeaderMs()));
            Histogram rejoin = new Histogram(3_600_000, 3);
            failovers.stream().filter(f -> f.rejoinMs() >= 0).forEach(f -> rejoin.recordValue(f.rejoinMs()));
            long notRejoined = failovers.stream().filter(f -> f.rejoinMs() < 0).count();
            p99 = h.getValueAtPercentile(99);
            System.out.println();
            System.out.printf(Locale.ROOT, "fail-over, %d SIGKILLs of the leader under %d client threads: kill -> first commit"
                            + " decided by the new leader p50 %d ms, p99 %d ms, min %d ms, max %d ms;"
                            + " restarted node following again p50 %d ms, max %d ms (JVM start included); restarted nodes"
                            + " that did not follow again within %d s: %d%n",
                    failovers.size(), s.failoverThreads(), h.getValueAtPercentile(50), p99, h.getMinValue(), h.getMaxValue(),
                    rejoin.getValueAtPercentile(50), rejoin.getMaxValue(), REJOIN_TIMEOUT.toSeconds(), notRejoined);
            System.out.printf(Locale.ROOT, "  of which kill -> a new leader reported by GET /api/v1/cluster: p50 %d ms, p99 %d ms%n",
                    elected.getValueAtPercentile(50), elected.getValueAtPercentile(99));
            System.out.println("per kill, kill -> first commit (ms): "
                    + failovers.stream().map(f -> Long.toString(f.killToCommitMs())).toList());
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "RESULT raft_vs_single=%.2f failover_p99_ms=%d%n", ratio, p99);
    }

    private static double ms(long nanos) {
        return nanos / 1_000_000.0;
    }

    private static void progress(String line) {
        System.err.println("raft-bench: " + line);
    }

    private static long cpuNanos(ProcessHandle process) {
        return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    private static long epochOf(String txid) {
        return Long.parseLong(txid.split(":")[1]);
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return String.format(Locale.ROOT, "%.2f", java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    .getSystemLoadAverage());
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    // ------------------------------------------------------------------ the participant

    /**
     * Participant callbacks served by this JVM: PREPARE votes COMMIT, commit answers COMMITTED,
     * rollback ROLLED_BACK, for any branch. It keeps nothing: the benchmark measures the coordinator.
     */
    static final class Participant implements AutoCloseable {
        private final HttpServer server;
        private final ExecutorService executor = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "bench-participant");
            t.setDaemon(true);
            return t;
        });

        Participant() throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
            server.setExecutor(executor);
            server.createContext("/p", this::handle);
            server.start();
        }

        String callbackUrl() {
            return "http://127.0.0.1:" + server.getAddress().getPort() + "/p";
        }

        private void handle(HttpExchange ex) throws IOException {
            try (ex) {
                ex.getRequestBody().readAllBytes();
                String path = ex.getRequestURI().getPath();
                String answer = path.endsWith("/prepare") ? "{\"vote\":\"COMMIT\"}"
                        : path.endsWith("/commit") ? "{\"outcome\":\"COMMITTED\"}"
                        : path.endsWith("/rollback") ? "{\"outcome\":\"ROLLED_BACK\"}" : null;
                if (answer == null) {
                    ex.sendResponseHeaders(404, -1);
                    return;
                }
                byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.sendResponseHeaders(200, bytes.length);
                ex.getResponseBody().write(bytes);
            }
        }

        @Override
        public void close() {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ a client

    /**
     * One client thread's view of the cluster: sends to the leader it last learned of, follows 307
     * ({@code Pledge-Leader}), retries 503 and connection errors with short capped backoff (10 ms
     * doubling to 100 ms, so that the fail-over time is not dominated by client sleeps).
     */
    static final class Client {
        /** One finished transaction: its txid, outcome and the times of begin, commit request and answer. */
        record Transaction(String txid, String outcome, long startNanos, long commitSentNanos, long endNanos) {
        }

        private static final long PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(30);
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(1)).followRedirects(HttpClient.Redirect.NEVER).build();
        private final List<String> nodes;
        private int next;
        private String leader;

        Client(List<String> nodes, int offset) {
            this.nodes = List.copyOf(nodes);
            this.next = offset;
        }

        Transaction runTransaction(Participant participant) {
            long start = System.nanoTime();
            String begin = post("/api/v1/transactions", "{\"timeoutMs\":30000}", 201);
            Matcher m = TXID.matcher(begin);
            if (!m.find()) {
                throw new IllegalStateException("begin answered without a txid: " + begin);
            }
            String txid = m.group(1);
            for (String branch : List.of("a", "b")) {
                post("/api/v1/transactions/" + txid + "/branches", "{\"branchId\":\"" + branch + ":1\",\"resource\":\"r"
                        + branch + "\",\"state\":\"PREPARED\",\"callbackUrl\":\"" + participant.callbackUrl() + "\"}", 201);
            }
            long commitSent = System.nanoTime();
            String decision = post("/api/v1/transactions/" + txid + "/commit", null, 200);
            Matcher o = OUTCOME.matcher(decision);
            return new Transaction(txid, o.find() ? o.group(1) : "?", start, commitSent, System.nanoTime());
        }

        private String post(String path, String json, int expected) {
            long deadline = System.nanoTime() + PATIENCE_NANOS;
            long backoff = 10;
            String target = leader != null ? leader : nextNode();
            int hops = 0;
            while (true) {
                HttpRequest request = HttpRequest.newBuilder(URI.create(target + path)).timeout(Duration.ofSeconds(10))
                        .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                        .POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json))
                        .build();
                try {
                    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == expected) {
                        leader = target;
                        return r.body();
                    }
                    if (r.statusCode() == 307 && hops++ < 4) {
                        Optional<String> to = r.headers().firstValue("Pledge-Leader");
                        if (to.isPresent()) {
                            leader = to.get();
                            target = leader;
                            continue;
                        }
                    }
                    if (r.statusCode() != 503 && r.statusCode() != 307) {
                        throw new IllegalStateException("POST " + path + " answered " + r.statusCode() + ": " + r.body());
                    }
                    if (r.body().contains("no-leader")) {
                        leader = null;
                        target = nextNode();
                    }
                } catch (IOException e) {
                    leader = null;
                    target = nextNode();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("POST " + path + ": no answer within 30 s");
                }
                hops = 0;
                sleep(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
                backoff = Math.min(backoff * 2, 100);
            }
        }

        private String nextNode() {
            return nodes.get(Math.floorMod(next++, nodes.size()));
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
    }

    // ------------------------------------------------------------------ coordinator processes

    /** N coordinator JVMs from the jar, a single node (file log) when N = 1, else one Raft group. */
    static final class Cluster implements AutoCloseable {
        /** What {@code GET /api/v1/cluster} on a node says. */
        record View(String role, String leaderUrl, long term, long commitIndex, long appliedIndex) {
        }

        private static final Pattern ROLE = Pattern.compile("\"role\"\\s*:\\s*\"([A-Z]+)\"");
        private static final Pattern LEADER = Pattern.compile("\"leader\"\\s*:\\s*\"([^\"]+)\"");
        private static final Pattern EPOCH = Pattern.compile("\"epoch\"\\s*:\\s*(\\d+)");
        private static final Pattern COMMIT_INDEX = Pattern.compile("\"commitIndex\"\\s*:\\s*(-?\\d+)");
        private static final Pattern APPLIED_INDEX = Pattern.compile("\"appliedIndex\"\\s*:\\s*(-?\\d+)");

        private final Settings settings;
        private final Path dir;
        private final int[] apiPorts;
        private final int[] raftPorts;
        private final Process[] processes;
        private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofMillis(500)).build();

        Cluster(Settings settings, Path dir, int size) {
            this.settings = settings;
            this.dir = dir;
            this.apiPorts = new int[size];
            this.raftPorts = new int[size];
            this.processes = new Process[size];
            for (int i = 0; i < size; i++) {
                apiPorts[i] = freePort();
                raftPorts[i] = freePort();
            }
        }

        int size() {
            return processes.length;
        }

        String nodeId(int node) {
            return "n" + (node + 1);
        }

        String apiUrl(int node) {
            return "http://127.0.0.1:" + apiPorts[node];
        }

        List<String> apiUrls() {
            List<String> urls = new ArrayList<>();
            for (int i = 0; i < size(); i++) {
                urls.add(apiUrl(i));
            }
            return urls;
        }

        void startAll() throws Exception {
            for (int i = 0; i < size(); i++) {
                start(i);
            }
            for (int i = 0; i < size(); i++) {
                node(i).awaitReady(READY_TIMEOUT);
            }
        }

        NodeHandle node(int i) {
            return new NodeHandle(i);
        }

        void start(int node) throws IOException {
            Path data = dir.resolve(nodeId(node));
            Files.createDirectories(data);
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xms" + settings.heap(), "-Xmx" + settings.heap()));
            cmd.addAll(settings.nodeJvmOptions());
            cmd.addAll(List.of("-jar", settings.jar().toString(),
                    "--server.port=" + apiPorts[node], "--pledge.data-dir=" + data, "--pledge.cluster-id=" + CLUSTER_ID,
                    "--pledge.node-id=" + nodeId(node), "--pledge.public-url=" + apiUrl(node)));
            if (size() > 1) {
                StringBuilder peers = new StringBuilder();
                for (int i = 0; i < size(); i++) {
                    peers.append(i == 0 ? "" : ",").append(nodeId(i)).append("@127.0.0.1:").append(raftPorts[i])
                            .append("@").append(apiUrl(i));
                }
                cmd.add("--pledge.cluster.mode=raft");
                cmd.add("--pledge.cluster.peers=" + peers);
            }
            cmd.addAll(settings.nodeArgs());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(nodeId(node) + ".out").toFile()));
            pb.environment().put("PLEDGE_BOOTSTRAP_TOKEN", TOKEN);
            processes[node] = pb.start();
        }

        /** The highest commit index any running node reports (-1 for a single node). */
        long maxCommitIndex() {
            long max = -1;
            for (int i = 0; i < size(); i++) {
                max = Math.max(max, view(i).map(View::commitIndex).orElse(-1L));
            }
            return max;
        }

        long pid(int node) {
            return processes[node] == null ? -1 : processes[node].pid();
        }

        /** CPU time (user + system) used so far by the running nodes. */
        long cpuNanos() {
            long sum = 0;
            for (Process p : processes) {
                if (p != null && p.isAlive()) {
                    sum += RaftBench.cpuNanos(p.toHandle());
                }
            }
            return sum;
        }

        /**
         * CPU clock ticks (1/100 s) of every thread of the running nodes except the JIT compilers, by
         * pid/tid, from /proc; empty where /proc is not there. A short run on a small machine is
         * otherwise dominated by three JVMs compiling Ratis, gRPC and Spring.
         */
        java.util.Map<String, Long> threadTicksWithoutJit() {
            java.util.Map<String, Long> ticks = new java.util.HashMap<>();
            for (Process p : processes) {
                if (p == null || !p.isAlive()) {
                    continue;
                }
                Path tasks = Path.of("/proc", Long.toString(p.pid()), "task");
                try (Stream<Path> threads = Files.list(tasks)) {
                    for (Path t : threads.toList()) {
                        try {
                            String stat = Files.readString(t.resolve("stat"));
                            String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                            if (comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler")) {
                                continue;
                            }
                            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                            ticks.put(p.pid() + "/" + t.getFileName(), Long.parseLong(f[11]) + Long.parseLong(f[12]));
                        } catch (IOException | RuntimeException threadEnded) {
                            // the thread ended meanwhile
                        }
                    }
                } catch (IOException noProc) {
                    return java.util.Map.of();
                }
            }
            return ticks;
        }

        /** SIGKILL. */
        void kill(int node) throws InterruptedException {
            processes[node].destroyForcibly();
            processes[node].waitFor(10, TimeUnit.SECONDS);
        }

        Optional<View> view(int node) {
            if (processes[node] == null || !processes[node].isAlive()) {
                return Optional.empty();
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(apiUrl(node) + "/api/v1/cluster"))
                        .timeout(Duration.ofSeconds(2)).header("Authorization", "Bearer " + TOKEN).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    return Optional.empty();
                }
                String b = r.body();
                Matcher role = ROLE.matcher(b);
                Matcher leader = LEADER.matcher(b);
                Matcher epoch = EPOCH.matcher(b);
                Matcher commit = COMMIT_INDEX.matcher(b);
                Matcher applied = APPLIED_INDEX.matcher(b);
                return Optional.of(new View(role.find() ? role.group(1) : "?", leader.find() ? leader.group(1) : null,
                        epoch.find() ? Long.parseLong(epoch.group(1)) : -1,
                        commit.find() ? Long.parseLong(commit.group(1)) : -1,
                        applied.find() ? Long.parseLong(applied.group(1)) : -1));
            } catch (IOException e) {
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }

        /** The node a majority follows as leader in a term of at least {@code minTerm}. */
        int awaitLeader(long minTerm, Duration timeout) throws InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() - end < 0) {
                List<Optional<View>> views = new ArrayList<>();
                for (int i = 0; i < size(); i++) {
                    views.add(view(i));
                }
                for (int i = 0; i < size(); i++) {
                    Optional<View> v = views.get(i);
                    if (v.isEmpty() || !"LEADER".equals(v.get().role()) && !"SINGLE".equals(v.get().role())
                            || v.get().term() < minTerm) {
                        continue;
                    }
                    int agree = 1;
                    for (int j = 0; j < size(); j++) {
                        Optional<View> o = views.get(j);
                        if (j != i && o.isPresent() && apiUrl(i).equals(o.get().leaderUrl()) && o.get().term() == v.get().term()) {
                            agree++;
                        }
                    }
                    if (agree > size() / 2) {
                        return i;
                    }
                }
                Thread.sleep(20);
            }
            throw new IllegalStateException("no leader of term >= " + minTerm + " within " + timeout + "; see the nodes'"
                    + " output in " + dir);
        }

        /** Every running node has applied what the leader had committed when asked. */
        void awaitCaughtUp(int leader, Duration timeout) throws InterruptedException {
            long target = view(leader).map(View::commitIndex).orElse(Long.MAX_VALUE);
            long end = System.nanoTime() + timeout.toNanos();
            for (int i = 0; i < size(); i++) {
                while (view(i).map(View::appliedIndex).orElse(-1L) < target) {
                    if (System.nanoTime() - end > 0) {
                        throw new IllegalStateException(nodeId(i) + " did not apply index " + target + " within " + timeout);
                    }
                    Thread.sleep(20);
                }
            }
        }

        /** {@code node} follows {@code leader} and has applied what the leader had committed when first asked. */
        void awaitFollowing(int node, int leader, Duration timeout) throws InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            long target = view(leader).map(View::commitIndex).orElse(Long.MAX_VALUE);
            while (true) {
                Optional<View> v = view(node);
                if (v.isPresent() && "FOLLOWER".equals(v.get().role()) && apiUrl(leader).equals(v.get().leaderUrl())
                        && v.get().appliedIndex() >= target) {
                    return;
                }
                if (System.nanoTime() - end > 0) {
                    throw new IllegalStateException(nodeId(node) + " is not following " + nodeId(leader) + " within "
                            + timeout + ": " + v);
                }
                Thread.sleep(20);
            }
        }

        @Override
        public void close() throws InterruptedException {
            for (int i = 0; i < size(); i++) {
                if (processes[i] != null && processes[i].isAlive()) {
                    kill(i);
                }
            }
        }

        /** One node of the cluster, for waiting on readiness. */
        final class NodeHandle {
            private final int node;

            NodeHandle(int node) {
                this.node = node;
            }

            void awaitReady(Duration timeout) throws Exception {
                long end = System.nanoTime() + timeout.toNanos();
                while (System.nanoTime() - end < 0) {
                    if (!processes[node].isAlive()) {
                        throw new IllegalStateException(nodeId(node) + " exited with " + processes[node].exitValue()
                                + "; see " + dir.resolve(nodeId(node) + ".out"));
                    }
                    try {
                        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(apiUrl(node)
                                + "/actuator/health/readiness")).timeout(Duration.ofSeconds(2)).GET().build(),
                                HttpResponse.BodyHandlers.discarding());
                        if (r.statusCode() == 200) {
                            return;
                        }
                    } catch (IOException notYet) {
                        // not listening yet
                    }
                    Thread.sleep(100);
                }
                throw new IllegalStateException(nodeId(node) + " not ready within " + timeout + "; see "
                        + dir.resolve(nodeId(node) + ".out"));
            }
        }

        private static int freePort() {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
