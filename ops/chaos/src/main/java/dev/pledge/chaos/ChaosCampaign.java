package dev.pledge.chaos;

import dev.pledge.sdk.jta.SdkFailpoints;
import dev.pledge.testkit.ActiveMqBroker;
import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorLaunch;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.CoordinatorProcess.FailpointHit;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.xa.XidCodec;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSException;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.ActiveMQConnectionFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;

/**
 * The crash campaign driver (DESIGN.md §9). In its own JVM it owns an embedded PostgreSQL (databases
 * {@code bank_a}, {@code bank_b}; fsync on) and an ActiveMQ broker (KahaDB, TCP) that are never killed; it runs
 * the coordinator jar ({@link CoordinatorProcess}) and the {@link Workload} as separate JVMs. Each round, from
 * a seeded {@link Random}:
 * <ol>
 * <li>pick a victim and a way to kill it: a named failpoint of that process (restarted with it armed, PAUSE
 * after a small random number of hits; SIGKILL when its {@code FAILPOINT ... REACHED} line appears) or a random
 * instant (SIGKILL after a random delay; the victim may also be both processes at once);</li>
 * <li>restart the coordinator if it was the victim (a killed workload stays down), stop the workload so the
 * system can quiesce, wait (bounded) until nothing is in doubt, undecided or prepared;</li>
 * <li>check the {@link Invariants}; every violation is printed with its txid or message key.</li>
 * </ol>
 * The last line is always {@code RESULT rounds=<n> violations=<v> failpoints=<covered>/<total>}.
 *
 * <p>With {@code --cluster 3} ({@link CoordinatorGroup}) three coordinators run as a Raft group, every one with
 * the same resources, and the workload gets all three URLs. A coordinator victim is the leader or a follower (the
 * ROUND line says which, and the node). Failpoints fire on the leader only, so a failpoint round first restarts a
 * follower armed while the system is quiescent and hands it the leadership ({@code POST
 * /api/v1/admin/cluster/leader}). Only one node is ever down; the killed node is restarted and the round waits
 * until it follows the leader and has caught up before the checks, which ask the leader.
 *
 * <p>{@code coordinator.during-orphan-rollback} needs an orphan: its round also arms the workload at
 * {@code sdk.after-prepare} and kills it there first, which leaves prepared branches nobody will commit.
 */
public final class ChaosCampaign implements AutoCloseable {
    static final String CLUSTER_ID = "chaos";
    static final String RANDOM_COORDINATOR = "random-instant:coordinator";
    static final String RANDOM_WORKLOAD = "random-instant:workload";
    /** Both processes at the same instant, as when their host loses power. */
    static final String RANDOM_BOTH = "random-instant:both";
    static final List<String> RANDOM_INSTANTS = List.of(RANDOM_COORDINATOR, RANDOM_WORKLOAD, RANDOM_BOTH);
    /** In a cluster (--cluster 3) the coordinator victim is the leader or a follower; "both" picks one at random. */
    static final String RANDOM_LEADER = "random-instant:coordinator-leader";
    static final String RANDOM_FOLLOWER = "random-instant:coordinator-follower";
    static final List<String> CLUSTER_RANDOM_INSTANTS = List.of(RANDOM_LEADER, RANDOM_FOLLOWER, RANDOM_WORKLOAD,
            RANDOM_BOTH);

    /** Every coordinator failpoint (dev.pledge.coordinator.failpoint.Failpoints.ALL; that class is not on our classpath). */
    public static final List<String> COORDINATOR_FAILPOINTS = List.of("coordinator.before-prepare",
            "coordinator.after-prepare", "coordinator.before-commit-append", "coordinator.after-commit-append",
            "coordinator.before-reply", "coordinator.between-branch-commits", "coordinator.before-completed",
            "coordinator.during-orphan-rollback");
    public static final List<String> WORKLOAD_FAILPOINTS = SdkFailpoints.ALL;
    private static final String ORPHAN_ROLLBACK = "coordinator.during-orphan-rollback";
    /** The queue is topped up to at most this many messages: a queue browser sees a few hundred at most. */
    private static final int MAX_BACKLOG = 150;

    /**
     * Campaign settings; see {@link #main} for the command-line form.
     *
     * @param coordinatorShare after the first cycle, the share of rounds whose victim is the coordinator (its rounds
     *                         cost one or two coordinator start-ups, the workload's none)
     * @param focus            null, or the one failpoint (or random-instant kind) every round uses
     */
    public record Settings(int rounds, long seed, Path workDir, int threads, int initialMessages, int messagesPerRound,
                           Duration quiescenceTimeout, List<String> failpoints, double coordinatorShare, String focus,
                           boolean keepLogs, int cluster, PrintStream out) {
        public Settings {
            if (rounds < 1 || threads < 1 || coordinatorShare < 0 || coordinatorShare > 1) {
                throw new IllegalArgumentException("rounds and threads must be >= 1 and coordinatorShare in [0, 1]");
            }
            if (cluster != 1 && cluster != 3) {
                throw new IllegalArgumentException("cluster must be 1 (one coordinator) or 3 (a Raft group), not " + cluster);
            }
        }

        public static Settings defaults(int rounds, long seed, Path workDir) {
            List<String> all = new ArrayList<>(COORDINATOR_FAILPOINTS);
            all.addAll(WORKLOAD_FAILPOINTS);
            return new Settings(rounds, seed, workDir, 4, 100, 40, Duration.ofSeconds(30), List.copyOf(all), 0.5, null,
                    false, 1, System.out);
        }

        public Settings withFocus(String point) {
            return new Settings(rounds, seed, workDir, threads, initialMessages, messagesPerRound, quiescenceTimeout,
                    failpoints, coordinatorShare, point, keepLogs, cluster, out);
        }

        public Settings withKeepLogs(boolean keep) {
            return new Settings(rounds, seed, workDir, threads, initialMessages, messagesPerRound, quiescenceTimeout,
                    failpoints, coordinatorShare, focus, keep, cluster, out);
        }

        public Settings withThreads(int n) {
            return new Settings(rounds, seed, workDir, n, initialMessages, messagesPerRound, quiescenceTimeout,
                    failpoints, coordinatorShare, focus, keepLogs, cluster, out);
        }

        /** 1: one coordinator; 3: a Raft group whose leader or a follower dies in coordinator rounds. */
        public Settings withCluster(int nodes) {
            return new Settings(rounds, seed, workDir, threads, initialMessages, messagesPerRound, quiescenceTimeout,
                    failpoints, coordinatorShare, focus, keepLogs, nodes, out);
        }

        List<String> randomInstants() {
            return cluster == 1 ? RANDOM_INSTANTS : CLUSTER_RANDOM_INSTANTS;
        }

        public Settings withCoordinatorShare(double share) {
            return new Settings(rounds, seed, workDir, threads, initialMessages, messagesPerRound, quiescenceTimeout,
                    failpoints, share, focus, keepLogs, cluster, out);
        }
    }

    /** What the campaign found. */
    public record Result(int rounds, int violations, int errors, List<String> failpoints, Set<String> covered,
                         Map<String, Integer> kills, Duration elapsed) {
        public String resultLine() {
            return "RESULT rounds=" + rounds + " violations=" + violations + " failpoints=" + covered.size() + "/"
                    + failpoints.size();
        }
    }

    /**
     * One round's plan: which process dies, and where.
     *
     * @param outcomeWaitMs how long the workload's commits keep asking for an outcome they could not learn: short
     *                      (shorter than a coordinator restart) makes the SDK give up with
     *                      TransactionInDoubtException and leave its branches prepared (S8)
     * @param follower      in a cluster, the coordinator victim is a follower, not the leader (failpoints fire on
     *                      the leader only)
     */
    record Plan(String point, int skip, long delayMs, int provocationSkip, long outcomeWaitMs, boolean follower) {
        boolean coordinatorVictim() {
            return point.startsWith("coordinator.") || point.equals(RANDOM_COORDINATOR) || point.equals(RANDOM_BOTH)
                    || point.equals(RANDOM_LEADER) || point.equals(RANDOM_FOLLOWER);
        }

        boolean atFailpoint() {
            return !point.startsWith("random-instant:");
        }

        String coordinatorFailpoint() {
            return point.startsWith("coordinator.") ? point : null;
        }

        /** The SDK failpoint the workload is armed with: the victim's, or the orphan provocation's. */
        String workloadFailpoint() {
            if (point.startsWith("sdk.")) {
                return point;
            }
            return point.equals(ORPHAN_ROLLBACK) ? SdkFailpoints.AFTER_PREPARE : null;
        }
    }

    private final Settings settings;
    private final Random random;
    private final String token;
    private final PrintStream out;
    private final Path logs;
    private EmbeddedPostgresServer postgres;
    private ActiveMqBroker broker;
    private CoordinatorLaunch launch;
    private CoordinatorGroup group;
    /** The node that leads (always 0 for a single coordinator), as of the last time the group settled. */
    private int leader;
    /** The node restarted with a failpoint this round, or -1. */
    private int armedNode = -1;
    /** The running workload, if any (for cleanup). */
    private volatile WorkloadProcess workload;
    /** Starts of each node, numbering its kept output files. */
    private int[] nodeStarts;
    private ApiClient api;
    private Invariants invariants;
    private final List<String> sentKeys = new ArrayList<>();
    private final Map<String, Integer> kills = new TreeMap<>();
    private final Set<String> covered = new LinkedHashSet<>();
    private final Map<String, int[]> checkTotals = new LinkedHashMap<>();
    private int lastQueued;
    /** ERROR lines of ended coordinators not yet reported, and of the running one already reported. */
    private int coordinatorErrorLines;
    /** Per node: ERROR lines of its running process already reported. */
    private int[] coordinatorErrorsCounted;
    private int totalCoordinatorErrorLines;
    private int totalWorkloadErrorLines;

    public ChaosCampaign(Settings settings) {
        this.settings = settings;
        this.random = new Random(settings.seed());
        this.token = "chaos-" + Long.toHexString(settings.seed()) + "-" + Long.toHexString(System.nanoTime());
        this.out = settings.out();
        this.logs = settings.workDir().resolve("logs");
    }

    public static void main(String[] argv) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        int rounds = 20;
        long seed = System.currentTimeMillis();
        int cluster = 1;
        Path workDir = null;
        String focus = null;
        boolean keepLogs = false;
        int threads = 4;
        double coordinatorShare = 0.5;
        for (int i = 0; i < argv.length; i++) {
            String a = argv[i];
            switch (a) {
                case "--rounds":
                    rounds = Integer.parseInt(value(argv, ++i, a));
                    break;
                case "--seed":
                    seed = Long.parseLong(value(argv, ++i, a));
                    break;
                case "--cluster":
                    cluster = Integer.parseInt(value(argv, ++i, a));
                    break;
                case "--work-dir":
                    workDir = Path.of(value(argv, ++i, a));
                    break;
                case "--focus":
                    focus = value(argv, ++i, a);
                    break;
                case "--coordinator-share":
                    coordinatorShare = Double.parseDouble(value(argv, ++i, a));
                    break;
                case "--threads":
                    threads = Integer.parseInt(value(argv, ++i, a));
                    break;
                case "--keep-logs":
                    keepLogs = true;
                    break;
                default:
                    System.err.println("unknown argument " + a + "; usage: run.sh --rounds N --seed S [--focus <failpoint>]"
                            + " [--coordinator-share 0.5] [--threads T] [--work-dir DIR] [--keep-logs] [--cluster 1|3]");
                    System.exit(64);
            }
        }
        if (cluster != 1 && cluster != 3) {
            System.err.println("--cluster " + cluster + ": the campaign runs one coordinator (--cluster 1) or a Raft"
                    + " group of three (--cluster 3)");
            System.exit(64);
        }
        if (workDir == null) {
            workDir = Files.createTempDirectory("pledge-chaos-" + seed + "-");
        }
        Settings settings = Settings.defaults(rounds, seed, workDir).withThreads(threads).withKeepLogs(keepLogs)
                .withCoordinatorShare(coordinatorShare).withCluster(cluster);
        if (focus != null) {
            if (!settings.failpoints().contains(focus) && !settings.randomInstants().contains(focus)) {
                System.err.println("--focus " + focus + " is not one of " + settings.failpoints() + ", "
                        + settings.randomInstants());
                System.exit(64);
            }
            settings = settings.withFocus(focus);
        }
        Result result;
        try (ChaosCampaign campaign = new ChaosCampaign(settings)) {
            // Ctrl-C or a timeout must not leave a coordinator, a workload or PostgreSQL running
            Thread cleanup = new Thread(campaign::closeQuietly, "chaos-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            result = campaign.run();
            Runtime.getRuntime().removeShutdownHook(cleanup);
        }
        System.out.flush();
        System.exit(result.violations() > 0 ? 1 : result.errors() > 0 ? 2 : 0);
    }

    private static String value(String[] argv, int i, String flag) {
        if (i >= argv.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return argv[i];
    }

    // ------------------------------------------------------------------ the campaign

    public Result run() throws Exception {
        long started = System.nanoTime();
        out.println("CHAOS seed=" + settings.seed() + " rounds=" + settings.rounds() + " threads=" + settings.threads()
                + " failpoints=" + settings.failpoints().size() + " coordinator-share=" + settings.coordinatorShare()
                + (settings.focus() == null ? "" : " focus=" + settings.focus())
                + (settings.cluster() == 1 ? "" : " cluster=" + settings.cluster())
                + " work-dir=" + settings.workDir());
        int violations = 0;
        int errors = 0;
        setUp();
        if (!oracleSelfCheck()) {
            errors++;
        }
        List<Plan> firstCycle = firstCycle();
        for (int round = 1; round <= settings.rounds(); round++) {
            Plan plan = round <= firstCycle.size() ? firstCycle.get(round - 1) : randomPlan();
            long t0 = System.nanoTime();
            String line;
            try {
                RoundOutcome r = runRound(round, plan);
                violations += r.violations;
                line = r.line;
            } catch (Exception | Error e) {
                errors++;
                line = "ERROR kill=" + plan.point() + " skip=" + plan.skip() + ": " + e;
                keep(round, e);
                recoverAfterError(round);
            }
            out.printf(Locale.ROOT, "ROUND %d %s %.1fs%n", round, line, (System.nanoTime() - t0) / 1e9);
            out.flush();
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        Result result = new Result(settings.rounds(), violations, errors, settings.failpoints(), covered, kills, elapsed);
        printSummary(result);
        return result;
    }

    private record RoundOutcome(int violations, String line) {
    }

    /** Seconds spent in each phase of a round, printed at its end. */
    private static final class PhaseClock {
        private final StringBuilder phases = new StringBuilder();
        private long mark = System.nanoTime();

        void lap(String phase) {
            long now = System.nanoTime();
            phases.append(phases.length() == 0 ? "" : ",").append(phase).append(':')
                    .append(String.format(Locale.ROOT, "%.1f", (now - mark) / 1e9));
            mark = now;
        }

        @Override
        public String toString() {
            return phases.toString();
        }
    }

    private RoundOutcome runRound(int round, Plan plan) throws Exception {
        Path roundLogs = logs.resolve(String.format(Locale.ROOT, "round-%04d", round));
        Files.createDirectories(roundLogs);
        PhaseClock clock = new PhaseClock();
        StringBuilder line = new StringBuilder();
        String coordinatorVictim = !group.clustered() ? "coordinator"
                : plan.follower() ? "coordinator-follower" : "coordinator-leader";
        line.append("victim=").append(plan.point().equals(RANDOM_BOTH) ? "both"
                        : plan.coordinatorVictim() ? coordinatorVictim : "workload")
                .append(" kill=").append(plan.point());
        if (group.clustered() && plan.point().equals(RANDOM_BOTH)) {
            line.append(" coordinator=").append(plan.follower() ? "follower" : "leader");
        }
        if (plan.outcomeWaitMs() < 10_000) {
            line.append(" impatient");
        }
        boolean coordinatorRestarted = false;
        int leaderBefore = leader;
        armedNode = -1;

        sendMessages(Math.max(0, Math.min(settings.messagesPerRound(), MAX_BACKLOG - lastQueued)));
        if (plan.coordinatorFailpoint() != null && group.clustered()) {
            // failpoints fire on the leader only: restart a follower armed while the system is quiescent (the
            // kill meets no transaction), wait until it has caught up, then hand it the leadership
            armedNode = otherNode(leader);
            group.process(armedNode).kill();
            keepOutput(armedNode, roundLogs);
            launchCoordinator(armedNode, plan.coordinatorFailpoint(), plan.skip());
            group.process(armedNode).awaitReady(Duration.ofSeconds(90));
            leader = group.awaitSettled(Duration.ofSeconds(60));
            if (leader != armedNode) {
                group.transferLeadership(leader, armedNode, Duration.ofSeconds(30));
                leader = armedNode;
            }
            coordinatorRestarted = true;
        } else if (plan.coordinatorFailpoint() != null) {
            // re-arm: SIGKILL the coordinator while the system is quiescent (the kill meets no transaction) and
            // start it armed; the workload JVM starts meanwhile and waits for it to answer
            armedNode = 0;
            group.process(0).kill();
            keepOutput(0, roundLogs);
            launchCoordinator(0, plan.coordinatorFailpoint(), plan.skip());
            coordinatorRestarted = true;
        }
        String workloadFailpoint = plan.workloadFailpoint();
        int workloadSkip = plan.point().startsWith("sdk.") ? plan.skip() : plan.provocationSkip();
        WorkloadProcess w = launchWorkload(round, roundLogs, workloadFailpoint, workloadSkip, plan.outcomeWaitMs());
        try {
            if (coordinatorRestarted) {
                group.process(leader).awaitReady(Duration.ofSeconds(90));
            }
            w.awaitReady(Duration.ofSeconds(90));
        } catch (Exception e) {
            w.close();
            throw e;
        }
        clock.lap(coordinatorRestarted ? "arm+start" : "start");
        int victimNode = -1;
        try {
            if (plan.atFailpoint()) {
                line.append(" skip=").append(plan.skip());
                FailpointHit hit;
                if (plan.coordinatorFailpoint() != null) {
                    if (workloadFailpoint != null) {
                        // the provocation is a real kill at an SDK failpoint too: it counts as one
                        FailpointHit provocation = workload.awaitFailpoint(Duration.ofSeconds(20));
                        workload.kill();
                        if (provocation != null && provocation.name().equals(workloadFailpoint)) {
                            covered.add(workloadFailpoint);
                            count(workloadFailpoint);
                        }
                        line.append(" orphan-from=").append(provocation == null ? "none" : workloadFailpoint
                                + ":" + provocation.txid());
                    }
                    victimNode = leader;
                    hit = awaitCoordinatorFailpoint(victimNode, Duration.ofSeconds(30));
                    group.process(victimNode).kill();
                } else {
                    hit = workload.awaitFailpoint(Duration.ofSeconds(30));
                    workload.kill();
                }
                if (hit != null && hit.name().equals(plan.point())) {
                    covered.add(plan.point());
                    count(plan.point());
                    line.append(" txid=").append(hit.txid());
                } else {
                    count("missed:" + plan.point());
                    line.append(" MISSED(not reached; killed anyway)");
                }
            } else {
                Thread.sleep(plan.delayMs());
                line.append(" after=").append(plan.delayMs()).append("ms");
                if (plan.point().equals(RANDOM_BOTH)) {
                    workload.signalKill(); // SIGKILL both before waiting for either
                }
                if (plan.coordinatorVictim()) {
                    victimNode = victimAtRandomInstant(plan);
                    group.process(victimNode).kill();
                }
                if (plan.point().equals(RANDOM_WORKLOAD) || plan.point().equals(RANDOM_BOTH)) {
                    workload.kill();
                }
                count(plan.point());
            }
            clock.lap("run");
            if (group.clustered() && victimNode >= 0) {
                line.append(" node=").append(group.nodeId(victimNode));
            }
            if (plan.coordinatorVictim()) {
                restartCoordinator(victimNode, roundLogs);
                coordinatorRestarted = true;
                clock.lap("restart");
            }
            if (workload.isAlive()) {
                String stopped = workload.stop(Duration.ofSeconds(30));
                line.append(" workload=").append(stopped.startsWith("WORKLOAD STOPPED")
                        ? stopped.substring("WORKLOAD STOPPED ".length()).replace(' ', ',') : stopped);
                clock.lap("stop");
            }
        } finally {
            workload.close();
        }
        if (leader != leaderBefore) {
            api = new ApiClient(group.apiUrl(leader), token);
            line.append(" leader=").append(group.nodeId(leaderBefore)).append("->").append(group.nodeId(leader));
        }
        // the COMMITTED listing is the leader's: a restarted follower leaves its cursor valid
        boolean leaderRestarted = coordinatorRestarted && !(plan.follower() && plan.coordinatorFailpoint() == null);
        invariants.coordinator(api, leaderRestarted || leader != leaderBefore);

        String pending = invariants.awaitQuiescence(settings.quiescenceTimeout());
        clock.lap("quiesce");
        if (pending != null) {
            line.append(" NOT-QUIESCENT(").append(pending).append(")");
        }
        Invariants.Report report = invariants.check(sentKeys);
        clock.lap("check");
        int coordinatorErrors = newCoordinatorErrorLines();
        int workloadErrors = errorLines(roundLogs.resolve("workload.out"));
        totalCoordinatorErrorLines += coordinatorErrors;
        totalWorkloadErrorLines += workloadErrors;
        lastQueued = report.queued();
        for (Invariants.Check c : report.checks()) {
            int[] totals = checkTotals.computeIfAbsent(c.name(), k -> new int[2]);
            totals[c.violations().isEmpty() ? 0 : 1]++;
        }
        int violations = report.violations();
        if (pending != null && violations == 0) {
            violations = 1; // liveness: something stayed in doubt or prepared for the whole quiescence timeout
        }
        line.append(" new-txids=").append(report.txidsChecked()).append(" processed=").append(report.processed())
                .append(" queued=").append(report.queued()).append(" violations=").append(violations)
                .append(" (").append(report.summary()).append(")");
        if (coordinatorErrors + workloadErrors > 0) {
            line.append(" error-log-lines=coordinator:").append(coordinatorErrors).append(",workload:").append(workloadErrors);
        }
        line.append(" t=").append(clock);
        if (violations > 0 || coordinatorErrors > 0) {
            // evidence: the running coordinator's output too (ended ones were copied when they were killed)
            for (int node = 0; node < group.size(); node++) {
                Path output = group.process(node).outputFile();
                if (Files.exists(output)) {
                    Files.copy(output, roundLogs.resolve(outputName(node, "running")),
                            StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Files.writeString(roundLogs.resolve(KEEP), (pending == null ? "" : "not quiescent: " + pending + "\n")
                    + "checks: " + report.checks() + "\n" + "coordinator ERROR lines: " + coordinatorErrors + "\n");
        }
        pruneLogs(round);
        return new RoundOutcome(violations, line.toString());
    }

    /** In a cluster: any node but {@code node}, picked at random. */
    private int otherNode(int node) {
        return (node + 1 + random.nextInt(group.size() - 1)) % group.size();
    }

    /**
     * The node a random-instant kill hits: the one leading right now (asked again: an election may have happened
     * since the group last settled) or one of the others.
     */
    private int victimAtRandomInstant(Plan plan) {
        if (!group.clustered()) {
            return 0;
        }
        int leading = leader;
        for (int node = 0; node < group.size(); node++) {
            if (group.view(node).map(CoordinatorGroup.NodeView::leader).orElse(false)) {
                leading = node;
            }
        }
        return plan.follower() ? otherNode(leading) : leading;
    }

    /** The node's failpoint line, or null when it did not appear in time (the round reports MISSED). */
    private FailpointHit awaitCoordinatorFailpoint(int node, Duration timeout) throws Exception {
        try {
            return group.process(node).awaitFailpoint(timeout);
        } catch (java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    // ------------------------------------------------------------------ the oracle's own test

    /** The checks {@link #oracleSelfCheck} makes fire. */
    static final List<String> PLANTED = List.of("atomicity", "conservation", "exactly-once", "decisions", "prepared");

    /**
     * Proves the oracle is not blind before the first round: plants a transfer logged in bank_a only (with its
     * money), a processed row for a message never sent, and a prepared branch of this cluster in bank_b, checks
     * that {@link #PLANTED} each report it, removes the plants, and checks that everything holds again. The
     * planted txid has an epoch the coordinator never reaches, so its orphan scanner leaves the branch alone.
     */
    boolean oracleSelfCheck() throws Exception {
        String txid = CLUSTER_ID + ":999999999:1";
        Base64.Encoder b64 = Base64.getEncoder();
        String gid = XidCodec.FORMAT_ID + "_" + b64.encodeToString(txid.getBytes(StandardCharsets.US_ASCII)) + "_"
                + b64.encodeToString("bank_b:self-check:1".getBytes(StandardCharsets.US_ASCII));
        Invariants.Report planted;
        try (Connection a = invariants.connect(ChaosSchema.BANK_A); Connection b = invariants.connect(ChaosSchema.BANK_B);
             Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            sa.execute("INSERT INTO transfer_log (txid, account, delta, driven) VALUES ('" + txid + "', 1, 7, false)");
            sa.execute("UPDATE accounts SET balance = balance + 7 WHERE id = 1");
            sa.execute("INSERT INTO processed (msg_key, txid) VALUES ('self-check', '" + txid + "')");
            sb.execute("BEGIN");
            sb.execute("UPDATE accounts SET balance = balance WHERE id = 2");
            sb.execute("PREPARE TRANSACTION '" + gid + "'");
            try {
                planted = invariants.check(sentKeys);
            } finally {
                sb.execute("ROLLBACK PREPARED '" + gid + "'");
                sa.execute("DELETE FROM processed WHERE msg_key = 'self-check'");
                sa.execute("UPDATE accounts SET balance = balance - 7 WHERE id = 1");
                sa.execute("DELETE FROM transfer_log WHERE txid = '" + txid + "'");
            }
        }
        List<String> blind = new ArrayList<>();
        for (Invariants.Check c : planted.checks()) {
            if (PLANTED.contains(c.name()) && c.violations().isEmpty()) {
                blind.add(c.name());
            }
        }
        Invariants.Report clean = invariants.check(sentKeys);
        boolean ok = blind.isEmpty() && clean.violations() == 0;
        out.println("ORACLE self-check: planted violations " + (blind.isEmpty() ? "all reported" : "NOT reported by "
                + blind) + " (" + planted.violations() + " found); after removing them: " + clean.summary()
                + (ok ? "" : " -> ERROR"));
        return ok;
    }

    // ------------------------------------------------------------------ plans

    /** The first rounds visit every failpoint once, plus each kind of random-instant kill, in seeded order. */
    private List<Plan> firstCycle() {
        List<String> points = new ArrayList<>();
        if (settings.focus() != null) {
            return List.of();
        }
        points.addAll(settings.failpoints());
        points.addAll(settings.randomInstants());
        Collections.shuffle(points, random);
        if (settings.cluster() > 1) {
            // failpoint rounds all kill the leader: a short campaign must kill a follower too
            points.remove(RANDOM_FOLLOWER);
            points.add(random.nextInt(3), RANDOM_FOLLOWER);
        }
        List<Plan> plans = new ArrayList<>();
        for (String p : points) {
            plans.add(plan(p));
        }
        return plans;
    }

    /**
     * After the first cycle: half of the time a failpoint not reached yet (if any); otherwise the coordinator with
     * probability {@code coordinatorShare}, else the workload, each killed at a random instant (one round in four)
     * or at one of its failpoints.
     */
    private Plan randomPlan() {
        if (settings.focus() != null) {
            return plan(settings.focus());
        }
        List<String> uncovered = new ArrayList<>(settings.failpoints());
        uncovered.removeAll(covered);
        if (!uncovered.isEmpty() && random.nextBoolean()) {
            return plan(uncovered.get(0));
        }
        boolean coordinatorVictim = random.nextDouble() < settings.coordinatorShare();
        List<String> own = new ArrayList<>();
        for (String p : settings.failpoints()) {
            if (p.startsWith("coordinator.") == coordinatorVictim) {
                own.add(p);
            }
        }
        if (own.isEmpty() || random.nextInt(4) == 0) {
            if (coordinatorVictim && settings.cluster() > 1) {
                return plan(List.of(RANDOM_LEADER, RANDOM_FOLLOWER, RANDOM_BOTH).get(random.nextInt(3)));
            }
            if (coordinatorVictim) {
                return plan(random.nextBoolean() ? RANDOM_COORDINATOR : RANDOM_BOTH);
            }
            return plan(RANDOM_WORKLOAD);
        }
        return plan(own.get(random.nextInt(own.size())));
    }

    private Plan plan(String point) {
        // a few hits pass before the pause, so the kill lands on a loaded system, not the first transaction;
        // the orphan provocation may leave a single orphan, so its rollback pauses at the first hit
        int skip = random.nextInt(12);
        if (point.equals(ORPHAN_ROLLBACK)) {
            skip = 0;
        }
        long delay = 300 + random.nextInt(2700);
        int provocationSkip = random.nextInt(6);
        long outcomeWait = random.nextInt(3) == 0 ? 2_000 : 20_000;
        boolean follower = point.equals(RANDOM_FOLLOWER)
                || (settings.cluster() > 1 && point.equals(RANDOM_BOTH) && random.nextBoolean());
        return new Plan(point, skip, delay, provocationSkip, outcomeWait, follower);
    }

    private void count(String key) {
        kills.merge(key, 1, Integer::sum);
    }

    // ------------------------------------------------------------------ processes and servers

    private void setUp() throws Exception {
        Files.createDirectories(logs);
        postgres = EmbeddedPostgresServer.start();
        broker = ActiveMqBroker.start();
        postgres.execute("CREATE DATABASE " + ChaosSchema.BANK_A, "CREATE DATABASE " + ChaosSchema.BANK_B);
        invariants = new Invariants("jdbc:postgresql://127.0.0.1:" + postgres.port(), broker.url(), CLUSTER_ID);
        try (Connection a = invariants.connect(ChaosSchema.BANK_A); Connection b = invariants.connect(ChaosSchema.BANK_B)) {
            ChaosSchema.create(a, true);
            ChaosSchema.create(b, false);
        }
        sendMessages(settings.initialMessages());
        lastQueued = settings.initialMessages();
        launch = CoordinatorLaunch.prepare(CoordinatorProcess.jar(), settings.workDir().resolve("coordinator-cds"),
                coordinatorArgs(), token);
        out.println("COORDINATOR start-up: " + launch.note());
        group = new CoordinatorGroup(launch, settings.workDir(), settings.cluster(), CLUSTER_ID, token);
        nodeStarts = new int[group.size()];
        coordinatorErrorsCounted = new int[group.size()];
        for (int node = 0; node < group.size(); node++) {
            launchCoordinator(node, null, 0);
        }
        for (int node = 0; node < group.size(); node++) {
            group.process(node).awaitReady(Duration.ofSeconds(120));
        }
        leader = group.awaitSettled(Duration.ofSeconds(60));
        if (group.clustered()) {
            out.println("CLUSTER " + group.size() + " nodes " + group.apiUrls() + ", leader " + group.nodeId(leader));
        }
        api = new ApiClient(group.apiUrl(leader), token);
        invariants.coordinator(api, true);
    }

    private List<String> coordinatorArgs() {
        String pg = "jdbc:postgresql://127.0.0.1:" + postgres.port() + "/";
        List<String> args = new ArrayList<>();
        for (String bank : List.of(ChaosSchema.BANK_A, ChaosSchema.BANK_B)) {
            args.add("--pledge.resources." + bank + ".type=postgresql");
            args.add("--pledge.resources." + bank + ".url=" + pg + bank);
            args.add("--pledge.resources." + bank + ".user=" + EmbeddedPostgresServer.USER);
        }
        args.add("--pledge.resources." + ChaosSchema.MQ + ".type=activemq");
        args.add("--pledge.resources." + ChaosSchema.MQ + ".url=" + broker.url());
        args.add("--pledge.participant.completion-grace=1s");
        args.add("--pledge.participant.prepare-timeout=5s");
        args.add("--pledge.participant.call-timeout=5s");
        args.add("--pledge.participant.connect-timeout=1s");
        args.add("--pledge.phase-two.max-backoff=1s");
        args.add("--pledge.recovery.scan-interval=1s");
        args.add("--pledge.recovery.orphan-safety-interval=2s");
        return args;
    }

    private void launchCoordinator(int node, String failpoint, int skip) throws Exception {
        List<String> args = coordinatorArgs();
        if (failpoint != null) {
            args.add("--pledge.failpoint.name=" + failpoint);
            args.add("--pledge.failpoint.action=PAUSE");
            args.add("--pledge.failpoint.skip=" + skip);
        }
        group.launch(node, args);
        nodeStarts[node]++;
    }

    /**
     * SIGKILLs the node if it still runs, keeps its output, starts it again unarmed and waits for it; in a
     * cluster, also until it follows the leader again and has caught up.
     */
    private void restartCoordinator(int node, Path roundLogs) throws Exception {
        group.process(node).kill();
        keepOutput(node, roundLogs);
        launchCoordinator(node, null, 0);
        group.process(node).awaitReady(Duration.ofSeconds(90));
        leader = group.awaitSettled(Duration.ofSeconds(60));
    }

    /** {@code coordinator-<start>.out} for the single coordinator, {@code n2-<start>.out} for a cluster node. */
    private String outputName(int node, String run) {
        return (group.clustered() ? group.nodeId(node) : "coordinator") + "-" + run + ".out";
    }

    private void keepOutput(int node, Path roundLogs) throws IOException {
        Path output = group.process(node).outputFile();
        if (Files.exists(output)) {
            Files.copy(output, roundLogs.resolve(outputName(node, Integer.toString(nodeStarts[node]))),
                    StandardCopyOption.REPLACE_EXISTING);
            coordinatorErrorLines += errorLines(output) - coordinatorErrorsCounted[node];
        }
        coordinatorErrorsCounted[node] = 0;
    }

    /**
     * ERROR lines the coordinator logged since the last call (its output file starts afresh with every start).
     * Not a violation by itself, but a round with any keeps its logs for a person to read.
     */
    private int newCoordinatorErrorLines() throws IOException {
        int fresh = coordinatorErrorLines;
        for (int node = 0; node < group.size(); node++) {
            int total = errorLines(group.process(node).outputFile());
            fresh += total - coordinatorErrorsCounted[node];
            coordinatorErrorsCounted[node] = total;
        }
        coordinatorErrorLines = 0;
        return fresh;
    }

    private static int errorLines(Path file) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return (int) lines.filter(l -> l.contains(" ERROR ")).count();
        }
    }

    /** Starts the workload JVM (not yet ready: it waits for the coordinator, then prints WORKLOAD READY). */
    private WorkloadProcess launchWorkload(int round, Path roundLogs, String failpoint, int skip, long outcomeWaitMs)
            throws Exception {
        List<String> args = List.of(
                "coordinator=" + group.apiUrls(),
                "token=" + token,
                "postgres=jdbc:postgresql://127.0.0.1:" + postgres.port(),
                "broker=" + broker.url(),
                "threads=" + settings.threads(),
                "instance=w" + round,
                "seed=" + (settings.seed() ^ round),
                "timeout-ms=3000",
                "outcome-wait-ms=" + outcomeWaitMs);
        WorkloadProcess w = WorkloadProcess.start(System.getProperty("java.class.path"), args, failpoint, skip,
                roundLogs.resolve("workload.out"));
        workload = w; // visible to the cleanup hook before it is ready
        return w;
    }

    private void sendMessages(int n) throws JMSException {
        jakarta.jms.Connection connection = new ActiveMQConnectionFactory(broker.url()).createConnection();
        try {
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer producer = session.createProducer(session.createQueue(ChaosSchema.QUEUE));
            producer.setDeliveryMode(DeliveryMode.PERSISTENT);
            for (int i = 0; i < n; i++) {
                String key = "m-" + (sentKeys.size() + 1);
                producer.send(session.createTextMessage(key));
                sentKeys.add(key);
            }
        } finally {
            connection.close();
        }
    }

    /**
     * After a driver-side failure: make sure every coordinator node runs unarmed (restart the armed one and any
     * that is down) and, in a cluster, follows one leader, so the next round can start.
     */
    private void recoverAfterError(int round) {
        try {
            Path roundLogs = logs.resolve(String.format(Locale.ROOT, "round-%04d", round));
            Files.createDirectories(roundLogs);
            for (int node = 0; node < group.size(); node++) {
                if (!group.clustered() || node == armedNode || !group.process(node).isAlive()) {
                    restartCoordinator(node, roundLogs);
                }
            }
            armedNode = -1;
            leader = group.awaitSettled(Duration.ofSeconds(60));
            api = new ApiClient(group.apiUrl(leader), token);
            invariants.coordinator(api, true);
        } catch (Exception e) {
            out.println("could not restart the coordinator after an error: " + e);
        }
    }

    /** A round's logs with this file are never pruned: it says why. */
    private static final String KEEP = "KEPT-BECAUSE.txt";

    private void keep(int round, Throwable why) {
        try {
            Path dir = logs.resolve(String.format(Locale.ROOT, "round-%04d", round));
            Files.createDirectories(dir);
            java.io.StringWriter trace = new java.io.StringWriter();
            why.printStackTrace(new java.io.PrintWriter(trace));
            Files.writeString(dir.resolve(KEEP), "driver error:\n" + trace);
        } catch (IOException e) {
            out.println("could not keep the logs of round " + round + ": " + e);
        }
    }

    /** Passed rounds keep only the logs of the last three rounds; kept rounds stay. */
    private void pruneLogs(int round) throws IOException {
        if (settings.keepLogs()) {
            return;
        }
        String newestToDelete = String.format(Locale.ROOT, "round-%04d", round - 3);
        List<Path> old = new ArrayList<>();
        try (var dirs = Files.list(logs)) {
            dirs.filter(d -> d.getFileName().toString().compareTo(newestToDelete) <= 0)
                    .filter(d -> !Files.exists(d.resolve(KEEP))).forEach(old::add);
        }
        for (Path dir : old) {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private void printSummary(Result result) {
        StringBuilder k = new StringBuilder("SUMMARY kills:");
        for (Map.Entry<String, Integer> e : result.kills().entrySet()) {
            k.append(' ').append(e.getKey()).append('=').append(e.getValue());
        }
        out.println(k);
        List<String> uncovered = new ArrayList<>(result.failpoints());
        uncovered.removeAll(result.covered());
        out.println("SUMMARY failpoints covered=" + result.covered().size() + "/" + result.failpoints().size()
                + (uncovered.isEmpty() ? "" : " not reached: " + uncovered));
        StringBuilder c = new StringBuilder("SUMMARY checks (rounds held/violated):");
        for (Map.Entry<String, int[]> e : checkTotals.entrySet()) {
            c.append(' ').append(e.getKey()).append('=').append(e.getValue()[0]).append('/').append(e.getValue()[1]);
        }
        out.println(c);
        out.printf(Locale.ROOT, "SUMMARY messages sent=%d elapsed=%.0fs (%.1fs/round) errors=%d"
                        + " error-log-lines=coordinator:%d,workload:%d seed=%d%n",
                sentKeys.size(), result.elapsed().toMillis() / 1e3,
                result.elapsed().toMillis() / 1e3 / Math.max(1, result.rounds()), result.errors(),
                totalCoordinatorErrorLines, totalWorkloadErrorLines, settings.seed());
        out.println(result.resultLine());
        out.flush();
    }

    private void closeQuietly() {
        try {
            close();
        } catch (Exception e) {
            System.err.println("chaos cleanup: " + e);
        }
    }

    @Override
    public synchronized void close() throws Exception {
        if (workload != null) {
            workload.close();
        }
        if (group != null) {
            group.close();
        }
        if (broker != null) {
            broker.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }
}
