package dev.pledge.coordinator.cluster.process;

import dev.pledge.coordinator.participant.HttpParticipantGateway;
import dev.pledge.testkit.FakeParticipant;
import dev.pledge.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Replicated mode as operators run it: three coordinator JVMs on loopback with real Raft log
 * directories, clients that find the leader through 307 redirects, and two participants that keep
 * their branch states in this JVM (so they outlive every coordinator). Faults are real: SIGKILL,
 * SIGSTOP/SIGCONT, a TCP proxy that keeps cutting one follower's connections. After each fault and
 * quiescence the same global invariants are checked: what a client was told COMMITTED is COMMITTED
 * and committed at both participants; no transaction is committed at one participant only, or
 * committed while the cluster says ABORTED.
 *
 * <p>Runs in every {@code ./mvnw verify} ({@code -Dcluster.failover.skip=true} leaves it out). Two past
 * failures and their fixes: (1) the SIGSTOP test saw the deposed leader issue one txid of its old term after
 * SIGCONT, because answers that sat in its sockets while it was frozen renewed its lease; the lease now counts
 * send times (see RaftDecisionLog#hasLeaderLease). (2) The flaky-link cluster started with the proxied
 * follower stuck as CANDIDATE for a minute: the leader's first connection reached the proxy before n3
 * listened, and {@link TcpProxy} kept that connection open without a target until a GC closed it, so
 * the leader's gRPC channel waited on it; the proxy now resets such connections as a refused connect would.
 *
 * <p>Tests 1, 2 and 4 share one cluster (restarting whatever a previous test killed); the flaky-link
 * test needs its own peer addresses and runs last, on its own cluster.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "cluster.failover.skip", matches = "false")
class ClusterFailoverIT {
    private static final String TOKEN = ProcessCluster.TOKEN;
    /** Low enough that the snapshot test gets snapshots and purges after a few hundred commits. */
    private static final int SNAPSHOT_THRESHOLD = 128;
    private static final Pattern INSTALLED = Pattern.compile("successfully install the entire snapshot-(\\d+)");
    private static final Pattern LOADED = Pattern.compile("loaded decision snapshot snapshot\\.(\\d+)_(\\d+)");

    /** Kept when a test fails: every node's data directory and output ({@code <node>-<port>.out}) are in it. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path tmp;

    private static ProcessCluster shared;

    /** The shared cluster with all three nodes running and caught up, started on first use. */
    private static ProcessCluster sharedCluster() throws Exception {
        long t0 = System.nanoTime();
        if (shared == null) {
            shared = new ProcessCluster(tmp.resolve("shared"), "failover", 3,
                    List.of("--pledge.cluster.snapshot-threshold=" + SNAPSHOT_THRESHOLD));
            shared.startAll();
            log("shared cluster started in %d ms (data and node output in %s)", ms(t0), tmp);
        } else {
            boolean restarted = false;
            for (int i = 0; i < shared.size(); i++) {
                if (!shared.process(i).isAlive()) {
                    shared.start(i, List.of());
                    restarted = true;
                } else if (!shared.running(i)) {
                    shared.resume(i);
                }
            }
            shared.awaitReady(Duration.ofSeconds(120));
            if (restarted) {
                log("restarted the nodes a previous test killed in %d ms", ms(t0));
            }
        }
        int leader = shared.awaitLeader(Duration.ofSeconds(60), 1);
        shared.awaitAllCaughtUp(leader, Duration.ofSeconds(60));
        return shared;
    }

    @AfterAll
    static void closeSharedCluster() {
        if (shared != null) {
            shared.close();
            shared = null;
        }
    }

    // ------------------------------------------------------------------ 1. SIGKILL of the leader under load

    @Test
    @Order(1)
    void commitsToldToClientsSurviveSigkillOfTheLeaderUnderLoad() throws Exception {
        ProcessCluster cluster = sharedCluster();
        int leader = cluster.awaitLeader(Duration.ofSeconds(30), 1);
        long oldTerm = cluster.view(leader).orElseThrow().term();
        try (FakeParticipant a = participant("a"); FakeParticipant b = participant("b");
             CommitWorkload load = new CommitWorkload(cluster.apiUrls(), a, b, 4, 0, Duration.ofSeconds(30))) {
            load.start();
            awaitTrue("30 commits before the kill", Duration.ofSeconds(60), () -> load.committedCount() >= 30);

            long killedAt = System.nanoTime();
            cluster.kill(leader);
            awaitTrue("20 commits decided by a new leader", Duration.ofSeconds(60),
                    () -> load.committedInEpochAtLeast(oldTerm + 1).size() >= 20);
            load.stop();

            int newLeader = cluster.awaitLeader(Duration.ofSeconds(30), oldTerm + 1);
            long newTerm = cluster.view(newLeader).orElseThrow().term();
            CommitWorkload.Decided first = load.committedInEpochAtLeast(oldTerm + 1).get(0);
            long firstAnyAfterKill = load.decided.values().stream().filter(d -> d.atNanos() > killedAt)
                    .filter(d -> "COMMITTED".equals(d.outcome())).mapToLong(CommitWorkload.Decided::atNanos).min()
                    .orElse(first.atNanos());
            List<String> violations = load.violations(client(cluster), Duration.ofSeconds(60));

            long oldTermBegun = load.begun.keySet().stream().filter(t -> LeaderFollowingClient.epochOf(t) == oldTerm).count();
            long oldTermCommitted = load.decided.values().stream().filter(d -> LeaderFollowingClient.epochOf(d.txid()) == oldTerm
                    && "COMMITTED".equals(d.outcome())).count();
            log("SIGKILL of leader %s (term %d): new leader %s, term %d; kill to first commit decided by the new leader"
                            + " %d ms (%s), to first commit reply of any term %d ms; %d txids begun (%d in term %d, %d of them"
                            + " committed), %d commits told in all, %d client errors %s",
                    cluster.nodeId(leader), oldTerm, cluster.nodeId(newLeader), newTerm, (first.atNanos() - killedAt) / 1_000_000,
                    first.txid(), (firstAnyAfterKill - killedAt) / 1_000_000, load.begun.size(), oldTermBegun, oldTerm,
                    oldTermCommitted, load.committedCount(), load.errors.get(), load.errorSamples().stream().limit(3).toList());

            assertThat(violations).as("invariant violations after SIGKILL of the leader").isEmpty();
            assertThat(newLeader).as("the new leader").isNotEqualTo(leader);
            assertThat(newTerm).isGreaterThan(oldTerm);
            assertThat(first.node()).as("the node that decided the first commit of a newer term")
                    .isNotEqualTo(cluster.apiUrl(leader));
        }
    }

    // ------------------------------------------------------------------ 2. SIGSTOP of the leader

    @Test
    @Order(2)
    void leaderFrozenBeyondTheElectionTimeoutNeitherIssuesDecidesNorCallsParticipantsAfterSigcont() throws Exception {
        ProcessCluster cluster = sharedCluster();
        int leader = cluster.awaitLeader(Duration.ofSeconds(30), 1);
        long oldTerm = cluster.view(leader).orElseThrow().term();
        String oldLeaderUrl = cluster.apiUrl(leader);
        try (FakeParticipant a = participant("a"); FakeParticipant b = participant("b");
             CommitWorkload load = new CommitWorkload(cluster.apiUrls(), a, b, 4, 0, Duration.ofSeconds(30))) {
            load.start();
            awaitTrue("20 commits before the freeze", Duration.ofSeconds(60), () -> load.committedCount() >= 20);
            // b refuses phase 2 from just before the freeze until 3 s after SIGCONT, so the frozen leader holds
            // retries that fall due while it is stopped: unless it knows it may no longer decide, it sends them
            // the moment it runs again, before it has heard of the new term.
            b.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            Thread.sleep(300);

            long pauseRequestedAt = System.nanoTime();
            cluster.pause(leader);
            // only now is it frozen: starting kill(1) takes tens of milliseconds on a busy machine, and requests
            // sent meanwhile are rightly answered by a leader that is still running (two such old-term txids
            // failed this test once, answered 13 and 3 ms after they were sent)
            long frozenAt = System.nanoTime();
            Instant frozenAtWall = Instant.now(); // the coordinators stamp their calls with the same system clock
            // Begin requests sent straight to the frozen leader: they wait in its socket buffers and
            // are the first thing it handles after SIGCONT, before it can have heard of the new term.
            DirectProbe probe = new DirectProbe(oldLeaderUrl, 4).start();
            Thread.sleep(6_000);
            int newLeader = cluster.awaitLeader(Duration.ofSeconds(30), oldTerm + 1);
            long newTerm = cluster.view(newLeader).orElseThrow().term();
            long resumedAt = System.nanoTime();
            cluster.resume(leader);
            Thread.sleep(3_000);
            probe.stop();
            b.failNextPhaseTwoCalls(0);
            String oldLeaderAgent = HttpParticipantGateway.USER_AGENT_PREFIX + cluster.nodeId(leader);
            List<FakeParticipant.Call> phaseTwoByOldLeaderBefore = phaseTwoCalls(oldLeaderAgent,
                    frozenAt - Duration.ofSeconds(1).toNanos(), frozenAt, a, b);
            // Calls that arrive after SIGCONT include those the leader made before the freeze and had not sent
            // yet (up to one per branch in phase 2 at that instant); Pledge-Sent-At tells them apart.
            List<FakeParticipant.Call> phaseTwoByOldLeaderAfter = phaseTwoCalls(oldLeaderAgent, resumedAt, Long.MAX_VALUE,
                    a, b);

            awaitTrue("the old leader follows the new one", Duration.ofSeconds(20), () -> cluster.view(leader)
                    .filter(v -> "FOLLOWER".equals(v.role()) && v.term() >= newTerm && v.leaderUrl() != null
                            && !v.leaderUrl().equals(oldLeaderUrl)).isPresent());
            ProcessCluster.NodeView oldLeaderView = cluster.view(leader).orElseThrow();
            int writeAfter = directBegin(oldLeaderUrl);
            long newTermCommitsBefore = load.committedInEpochAtLeast(newTerm).size();
            awaitTrue("commits by the new leader", Duration.ofSeconds(30),
                    () -> load.committedInEpochAtLeast(newTerm).size() >= newTermCommitsBefore + 10);
            load.stop();
            List<String> violations = load.violations(client(cluster), Duration.ofSeconds(60));

            // Counting txids of the old term: the highest sequence number a client had been given
            // before the freeze, and what was issued beyond it.
            long maxSeqBeforeFreeze = load.begun.values().stream()
                    .filter(g -> LeaderFollowingClient.epochOf(g.txid()) == oldTerm && g.answeredNanos() < frozenAt)
                    .mapToLong(g -> LeaderFollowingClient.seqOf(g.txid())).max().orElse(0);
            List<CommitWorkload.Begun> oldTermBeyond = load.begun.values().stream()
                    .filter(g -> LeaderFollowingClient.epochOf(g.txid()) == oldTerm
                            && LeaderFollowingClient.seqOf(g.txid()) > maxSeqBeforeFreeze).toList();
            List<CommitWorkload.Begun> oldTermRequestedAfterFreeze = oldTermBeyond.stream()
                    .filter(g -> g.sentNanos() > frozenAt).toList();
            List<String> probeOldTerm = probe.issued.stream().filter(t -> LeaderFollowingClient.epochOf(t) == oldTerm).toList();
            // Decisions the old leader gave after SIGCONT: for commit requests sent before the freeze
            // (their COMMIT may have become durable through the new leader), and for ones sent after.
            List<CommitWorkload.Decided> oldLeaderDecisionsAfterResume = load.decided.values().stream()
                    .filter(d -> d.node().equals(oldLeaderUrl) && d.atNanos() > resumedAt).toList();
            List<CommitWorkload.Decided> decidedWhileDeposed = oldLeaderDecisionsAfterResume.stream()
                    .filter(d -> d.sentNanos() > frozenAt).toList();
            // Whatever the deposed leader handed out, none of it can commit: the cluster presumes it aborted.
            LeaderFollowingClient api = client(cluster);
            Map<String, String> probeOutcomes = new TreeMap<>();
            for (String txid : probe.issued) {
                probeOutcomes.put(txid, api.commit(txid));
            }
            long lastProbeIssueMs = probe.issued.isEmpty() ? -1 : (probe.lastIssuedNanos.get() - resumedAt) / 1_000_000;

            log("kill -STOP took %d ms", (frozenAt - pauseRequestedAt) / 1_000_000);
            log("SIGSTOP of leader %s (term %d) for 6 s: new leader %s, term %d; after SIGCONT the old leader says %s"
                            + " term %d and answers a begin with %d; direct begins sent to it while frozen or after"
                            + " SIGCONT: %s, old-term txids among them %s (the last one %d ms after SIGCONT; asked to commit"
                            + " now: %s); old-term txids beyond seq %d (the last a client had"
                            + " before the freeze): %d, of which requested after the freeze: %d; decisions it gave after"
                            + " SIGCONT: %s (of commit requests sent after the freeze: %s); phase-2 calls it made in the"
                            + " second before the freeze: %d, after SIGCONT: %s; %d txids begun, %d commits,"
                            + " %d client errors",
                    cluster.nodeId(leader), oldTerm, cluster.nodeId(newLeader), newTerm, oldLeaderView.role(),
                    oldLeaderView.term(), writeAfter, probe.statuses, probeOldTerm, lastProbeIssueMs, probeOutcomes, maxSeqBeforeFreeze, oldTermBeyond.size(),
                    oldTermRequestedAfterFreeze.size(), oldLeaderDecisionsAfterResume, decidedWhileDeposed,
                    phaseTwoByOldLeaderBefore.size(), phaseTwoByOldLeaderAfter, load.begun.size(),
                    load.committedCount(), load.errors.get());

            assertThat(violations).as("invariant violations after SIGSTOP/SIGCONT of the leader").isEmpty();
            assertThat(probeOutcomes).as("txids a deposed leader handed out, committed now through the cluster")
                    .allSatisfy((txid, outcome) -> assertThat(outcome).isEqualTo("ABORTED"));
            assertThat(oldLeaderView.role()).isEqualTo("FOLLOWER");
            assertThat(oldLeaderView.term()).isGreaterThanOrEqualTo(newTerm);
            assertThat(writeAfter).as("a write sent to the deposed leader").isIn(307, 503);
            assertThat(decidedWhileDeposed).as("decisions the deposed leader gave to commit requests sent after the freeze")
                    .isEmpty();
            assertThat(probeOldTerm).as("txids of the old term %d the deposed leader issued after SIGCONT", oldTerm).isEmpty();
            assertThat(phaseTwoByOldLeaderBefore).as("phase-2 calls of the leader in the second before the freeze"
                    + " (so that it had retries pending)").isNotEmpty();
            assertThat(phaseTwoByOldLeaderAfter).as("phase-2 calls that arrived after SIGCONT carry the time the"
                    + " old leader made them").allSatisfy(c -> assertThat(c.sentAt()).isNotNull());
            assertThat(phaseTwoByOldLeaderAfter.stream().filter(c -> c.sentAt().isAfter(frozenAtWall)).toList())
                    .as("phase-2 calls the deposed leader made after the freeze (made at; the freeze at %s)", frozenAtWall)
                    .isEmpty();
            assertThat(oldTermRequestedAfterFreeze).as("old-term txids begun by requests sent after the freeze (ms after"
                    + " the freeze, sent and answered: %s; SIGCONT %d ms after the freeze)", oldTermRequestedAfterFreeze.stream()
                    .map(g -> (g.sentNanos() - frozenAt) / 1_000_000 + "/" + (g.answeredNanos() - frozenAt) / 1_000_000).toList(),
                    (resumedAt - frozenAt) / 1_000_000).isEmpty();
            assertThat(oldTermBeyond.size()).as("old-term txids issued beyond what clients had before the freeze"
                    + " (at most the begins in flight at that instant)").isLessThanOrEqualTo(4);
        }
    }

    /** Commit and rollback calls that {@code caller} made to the participants, received between the two instants. */
    private static List<FakeParticipant.Call> phaseTwoCalls(String caller, long fromNanos, long toNanos,
                                                            FakeParticipant... participants) {
        return Stream.of(participants).flatMap(p -> p.calls().stream())
                .filter(c -> !c.kind().equals("prepare") && caller.equals(c.caller()))
                .filter(c -> c.atNanos() > fromNanos && c.atNanos() < toNanos)
                .toList();
    }

    /** Begin requests sent straight to one node, never following a redirect, from several threads. */
    private static final class DirectProbe {
        private final String url;
        private final List<Thread> threads = new ArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        final Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
        final List<String> issued = new CopyOnWriteArrayList<>();
        /** When the last 201 arrived. */
        final AtomicLong lastIssuedNanos = new AtomicLong();

        DirectProbe(String url, int threads) {
            this.url = url;
            for (int i = 0; i < threads; i++) {
                Thread t = new Thread(this::run, "direct-probe-" + i);
                t.setDaemon(true);
                this.threads.add(t);
            }
        }

        DirectProbe start() {
            threads.forEach(Thread::start);
            return this;
        }

        private void run() {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            while (!stop.get()) {
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url + "/api/v1/transactions"))
                            .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + TOKEN)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"timeoutMs\":5000}")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    statuses.computeIfAbsent(r.statusCode(), k -> new AtomicInteger()).incrementAndGet();
                    if (r.statusCode() == 201) {
                        Matcher m = Pattern.compile("\"txid\":\"([^\"]+)\"").matcher(r.body());
                        if (m.find()) {
                            issued.add(m.group(1));
                            lastIssuedNanos.set(System.nanoTime());
                        }
                    }
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    statuses.computeIfAbsent(-1, k -> new AtomicInteger()).incrementAndGet();
                }
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(25_000);
            }
        }
    }

    private static int directBegin(String url) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        return http.send(HttpRequest.newBuilder(URI.create(url + "/api/v1/transactions")).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    // ------------------------------------------------------------------ 4. catch-up by snapshot install

    @Test
    @Order(3)
    void followerRestartedAfterTheLeaderPurgedItsLogCatchesUpBySnapshotAndCanLead() throws Exception {
        ProcessCluster cluster = sharedCluster();
        int leader = cluster.awaitLeader(Duration.ofSeconds(30), 1);
        int follower = (leader + 1) % 3;
        int other = (leader + 2) % 3;
        long term = cluster.view(leader).orElseThrow().term();
        try (FakeParticipant a = participant("a"); FakeParticipant b = participant("b")) {
            LeaderFollowingClient api = client(cluster);
            Set<String> committed = new TreeSet<>();
            commit(api, a, b, 10, committed);
            cluster.awaitAllCaughtUp(leader, Duration.ofSeconds(30));
            long followerApplied = cluster.view(follower).orElseThrow().appliedIndex();
            cluster.kill(follower);

            // A few entries in the same term after the kill, so that the follower's next entry is in
            // the middle of a segment that will be purged (the ordinary snapshot-install case).
            commit(api, a, b, 10, committed);
            // Segments roll at a term change, and only closed segments are purged. Freeze the other
            // follower: the leader loses its majority, steps down, and a new term starts on SIGCONT.
            cluster.pause(other);
            Thread.sleep(3_500);
            cluster.resume(other);
            int leader2 = cluster.awaitLeader(Duration.ofSeconds(30), term + 1);
            long term2 = cluster.view(leader2).orElseThrow().term();

            long t0 = System.nanoTime();
            int batches = 0;
            // + 10: past the entries of the commits above, whatever else the follower had received
            while (cluster.firstLogIndexOnDisk(leader2).orElse(0) <= followerApplied + 10) {
                assertThat(System.nanoTime() - t0).as("the leader purged its log past the follower's index "
                        + followerApplied + " within 60 s (first index now " + cluster.firstLogIndexOnDisk(leader2) + ")")
                        .isLessThan(Duration.ofSeconds(60).toNanos());
                commit(api, a, b, 40, committed);
                batches++;
            }
            long firstIndex = cluster.firstLogIndexOnDisk(leader2).orElseThrow();
            long leaderCommit = cluster.view(leader2).orElseThrow().commitIndex();
            log("snapshot test: %s killed at applied index %d; leader %s (term %d) purged its log to first index %d"
                            + " after %d commits (%d batches of 40), commit index %d", cluster.nodeId(follower),
                    followerApplied, cluster.nodeId(leader2), term2, firstIndex, committed.size(), batches, leaderCommit);

            long restartAt = System.nanoTime();
            cluster.start(follower, List.of("--logging.level.org.apache.ratis.server.impl.SnapshotInstallationHandler=INFO"));
            cluster.process(follower).awaitReady(Duration.ofSeconds(120));
            awaitTrue("the restarted follower applies up to the leader's commit index " + leaderCommit,
                    Duration.ofSeconds(60), () -> cluster.view(follower).map(v -> v.appliedIndex() >= leaderCommit).orElse(false));
            long caughtUpMs = ms(restartAt);
            String out = cluster.process(follower).output();
            long installedIndex = -1;
            Matcher installed = INSTALLED.matcher(out);
            while (installed.find()) {
                installedIndex = Math.max(installedIndex, Long.parseLong(installed.group(1)));
            }
            long loadedIndex = -1;
            Matcher loaded = LOADED.matcher(out);
            while (loaded.find()) {
                loadedIndex = Math.max(loadedIndex, Long.parseLong(loaded.group(2)));
            }
            log("snapshot test: %s restarted and caught up in %d ms (JVM start included): installed the leader's snapshot"
                    + " at index %d, loaded snapshots up to index %d", cluster.nodeId(follower), caughtUpMs,
                    installedIndex, loadedIndex);
            assertThat(installedIndex).as("the restarted follower installed a snapshot from the leader (its output:"
                    + " 'successfully install the entire snapshot-N')").isGreaterThan(followerApplied);
            assertThat(loadedIndex).as("the decision table was reloaded from that snapshot").isEqualTo(installedIndex);

            // Would it serve the same state? Make it the leader: kill the leader; if the other
            // node wins instead, kill that one too and bring the first back, whose log is behind.
            int remaining = leader2 == leader ? other : leader;
            cluster.kill(leader2);
            int leader3 = cluster.awaitLeader(Duration.ofSeconds(30), term2 + 1);
            if (leader3 != follower) {
                long term3 = cluster.view(leader3).orElseThrow().term();
                cluster.awaitAllCaughtUp(leader3, Duration.ofSeconds(30));
                cluster.kill(leader3);
                cluster.start(leader2, List.of());
                cluster.process(leader2).awaitReady(Duration.ofSeconds(120));
                leader3 = cluster.awaitLeader(Duration.ofSeconds(30), term3 + 1);
                log("snapshot test: %s won the first election; after killing it and restarting %s, %s leads",
                        cluster.nodeId(remaining), cluster.nodeId(leader2), cluster.nodeId(leader3));
            }
            assertThat(leader3).as("the node that caught up by snapshot leads").isEqualTo(follower);
            LeaderFollowingClient direct = new LeaderFollowingClient(List.of(cluster.apiUrl(follower)), TOKEN,
                    Duration.ofSeconds(4), Duration.ofSeconds(30));
            Map<String, String> states = new TreeMap<>();
            for (String txid : committed) {
                states.put(txid, direct.state(txid));
            }
            Map<String, Long> counts = new TreeMap<>();
            states.values().forEach(s -> counts.merge(s, 1L, Long::sum));
            log("snapshot test: %s leads; the %d transactions committed while it was away are %s there",
                    cluster.nodeId(follower), committed.size(), counts);
            assertThat(states).as("transactions committed while it was down, as it reports them")
                    .allSatisfy((txid, state) -> assertThat(state).isIn("COMMITTED", "COMMITTING"));
            Set<String> more = new TreeSet<>();
            commit(direct, a, b, 5, more);
            assertThat(more).hasSize(5);
        }
    }

    /** Runs {@code n} two-branch transactions one after the other; every one must commit. */
    private static void commit(LeaderFollowingClient api, FakeParticipant a, FakeParticipant b, int n, Set<String> committed) {
        for (int i = 0; i < n; i++) {
            String txid = api.begin(30_000);
            assertThat(txid).as("begin").isNotNull();
            assertThat(api.registerActive(txid, "a:1", "ra", a.callbackUrl())).isEqualTo(201);
            assertThat(api.registerActive(txid, "b:1", "rb", b.callbackUrl())).isEqualTo(201);
            assertThat(api.commit(txid)).as("outcome of " + txid).isEqualTo("COMMITTED");
            committed.add(txid);
        }
    }

    // ------------------------------------------------------------------ 4. an operator's action across a failover

    /**
     * An operator forgets a branch that phase 2 cannot finish (forced, since the transaction has a COMMIT
     * record); then the leader is killed. The next leader has the action from the replicated log: it keeps
     * the branch as the operator left it (never calls its participant again), finishes the other branch,
     * ends the transaction HEURISTIC_MIXED and shows the action in its audit log.
     */
    @Test
    @Order(4)
    void anOperatorsHeuristicActionIsKeptByTheNextLeaderAfterSigkill() throws Exception {
        ProcessCluster cluster = sharedCluster();
        int leader = cluster.awaitLeader(Duration.ofSeconds(30), 1);
        long oldTerm = cluster.view(leader).orElseThrow().term();
        LeaderFollowingClient api = client(cluster);
        try (FakeParticipant a = participant("ha"); FakeParticipant b = participant("hb")) {
            a.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            b.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            String txid = api.begin(60_000);
            assertThat(api.registerActive(txid, "a:1", "a-db", a.callbackUrl())).isEqualTo(201);
            assertThat(api.registerActive(txid, "b:1", "b-db", b.callbackUrl())).isEqualTo(201);
            assertThat(api.commit(txid)).isEqualTo("COMMITTED");
            awaitTrue("both branches retrying phase 2", Duration.ofSeconds(30),
                    () -> !b.calls(txid).stream().filter(c -> c.kind().equals("commit")).toList().isEmpty()
                            && !a.calls(txid).stream().filter(c -> c.kind().equals("commit")).toList().isEmpty());
            LeaderFollowingClient.Reply forgot = api.post("/api/v1/admin/heuristic", "{\"txid\":\"" + txid
                    + "\",\"branchId\":\"b:1\",\"action\":\"FORGET\",\"reason\":\"b-db was dropped\",\"force\":true}");
            assertThat(forgot.status()).as(forgot.body()).isEqualTo(200);
            assertThat(forgot.body()).contains("COORDINATOR_ONLY").contains("HEURISTIC_MIXED");

            cluster.kill(leader);
            a.failNextPhaseTwoCalls(0);
            b.failNextPhaseTwoCalls(0);
            int newLeader = cluster.awaitLeader(Duration.ofSeconds(60), oldTerm + 1);
            awaitTrue("the new leader ends " + txid + " HEURISTIC_MIXED", Duration.ofSeconds(60),
                    () -> "HEURISTIC_MIXED".equals(api.state(txid)));

            String newLeaderAgent = HttpParticipantGateway.USER_AGENT_PREFIX + cluster.nodeId(newLeader);
            assertThat(phaseTwoCalls(newLeaderAgent, 0, Long.MAX_VALUE, b)).as("calls to the forgotten branch by the"
                    + " new leader").isEmpty();
            assertThat(phaseTwoCalls(newLeaderAgent, 0, Long.MAX_VALUE, a)).as("the other branch is finished by the"
                    + " new leader").isNotEmpty();
            LeaderFollowingClient.Reply audit = api.get("/api/v1/admin/audit");
            assertThat(audit.status()).isEqualTo(200);
            assertThat(audit.body()).contains(txid).contains("b-db was dropped")
                    .contains("COORDINATOR_ONLY");
            log("heuristic FORGET of %s b:1 on leader %s (term %d), then SIGKILL: new leader %s kept it (no call to"
                    + " b:1, a:1 finished, transaction HEURISTIC_MIXED, action in its audit log)", txid,
                    cluster.nodeId(leader), oldTerm, cluster.nodeId(newLeader));
        }
    }

    // ------------------------------------------------------------------ 5. flaky link

    @Test
    @Order(5)
    void linkToOneFollowerCutEveryFewSecondsDoesNotChurnLeadership() throws Exception {
        closeSharedCluster(); // three idle JVMs less on a small machine
        long t0 = System.nanoTime();
        try (ProcessCluster cluster = new ProcessCluster(tmp.resolve("flaky"), "flaky", 3, List.of())) {
            // n3's Raft port is what n1 and n2 are told, through the proxy; n3 itself binds the real port.
            TcpProxy link = new TcpProxy(cluster.raftPort(2));
            cluster.advertiseRaftPort(2, link.port());
            try (link) {
                // n1 and n2 first, so that the group's configuration (written by the first leader)
                // carries the proxy address for n3.
                cluster.start(0, List.of());
                cluster.start(1, List.of());
                awaitTrue("n1 or n2 leads", Duration.ofSeconds(120), () -> cluster.process(0).output().contains("leads epoch")
                        || cluster.process(1).output().contains("leads epoch"));
                cluster.start(2, List.of());
                cluster.awaitReady(Duration.ofSeconds(120));
                int leader = cluster.awaitLeader(Duration.ofSeconds(60), 1);
                cluster.awaitAllCaughtUp(leader, Duration.ofSeconds(60));
                log("flaky-link cluster started in %d ms; leader %s", ms(t0), cluster.nodeId(leader));
                assertThat(leader).as("n3 (behind the proxy) is not the first leader").isNotEqualTo(2);

                LeadershipWatch watch = new LeadershipWatch(cluster).start();
                AtomicBoolean cutting = new AtomicBoolean(true);
                AtomicInteger cuts = new AtomicInteger();
                AtomicInteger cutsWithTraffic = new AtomicInteger();
                Thread cutter = new Thread(() -> {
                    while (cutting.get()) {
                        try {
                            Thread.sleep(2_500);
                        } catch (InterruptedException e) {
                            return;
                        }
                        if (link.openConnections() > 0) {
                            cutsWithTraffic.incrementAndGet();
                        }
                        link.cutAll();
                        cuts.incrementAndGet();
                    }
                }, "link-cutter");
                cutter.setDaemon(true);
                try (FakeParticipant a = participant("a"); FakeParticipant b = participant("b");
                     CommitWorkload load = new CommitWorkload(cluster.apiUrls(), a, b, 2, 20, Duration.ofSeconds(30))) {
                    load.start();
                    cutter.start();
                    long runStart = System.nanoTime();
                    long lastCommits = 0;
                    int quietWindows = 0;
                    while (System.nanoTime() - runStart < Duration.ofSeconds(45).toNanos()) {
                        Thread.sleep(5_000);
                        long now = load.committedCount();
                        quietWindows += now == lastCommits ? 1 : 0;
                        lastCommits = now;
                    }
                    cutting.set(false);
                    cutter.join(5_000);
                    load.stop();
                    watch.stop();
                    cluster.awaitAllCaughtUp(cluster.awaitLeader(Duration.ofSeconds(30), 1), Duration.ofSeconds(30));
                    List<String> violations = load.violations(client(cluster), Duration.ofSeconds(60));
                    log("flaky link: %d cuts in 45 s (%d with Raft connections open); leaders seen %s, %d leader"
                                    + " change(s), terms seen %s; %d commits, %d five-second windows without a commit,"
                                    + " %d client errors %s", cuts.get(), cutsWithTraffic.get(), watch.leaders,
                            watch.leaderChanges(), watch.terms, load.committedCount(), quietWindows, load.errors.get(),
                            load.errorSamples().stream().limit(3).toList());
                    assertThat(cutsWithTraffic.get()).as("cuts that found Raft connections through the proxy")
                            .isGreaterThanOrEqualTo(10);
                    assertThat(watch.leaderChanges()).as("leader changes while the link to n3 kept breaking")
                            .isLessThanOrEqualTo(2);
                    assertThat(quietWindows).as("five-second windows without a single commit").isZero();
                    assertThat(violations).as("invariant violations with a flaky link").isEmpty();
                }
            }
        }
    }

    /** Polls every node's {@code GET /api/v1/cluster} every 200 ms and remembers each term's leader. */
    private static final class LeadershipWatch {
        private final ProcessCluster cluster;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;
        final Map<Long, String> leaders = new ConcurrentHashMap<>();
        final Set<Long> terms = ConcurrentHashMap.newKeySet();

        LeadershipWatch(ProcessCluster cluster) {
            this.cluster = cluster;
            this.thread = new Thread(this::run, "leadership-watch");
            thread.setDaemon(true);
        }

        LeadershipWatch start() {
            thread.start();
            return this;
        }

        private void run() {
            while (!stop.get()) {
                for (ProcessCluster.NodeView v : cluster.views()) {
                    terms.add(v.term());
                    if (v.leaderUrl() != null) {
                        leaders.putIfAbsent(v.term(), cluster.nodeId(cluster.nodeOfUrl(v.leaderUrl())));
                    }
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        int leaderChanges() {
            return Math.max(0, leaders.size() - 1);
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(5_000);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static FakeParticipant participant(String name) throws Exception {
        FakeParticipant p = new FakeParticipant(name);
        p.requireToken(TOKEN);
        return p;
    }

    private static LeaderFollowingClient client(ProcessCluster cluster) {
        return new LeaderFollowingClient(cluster.apiUrls(), TOKEN, Duration.ofSeconds(4), Duration.ofSeconds(30));
    }

    private static void awaitTrue(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("not within " + timeout + ": " + what);
            }
            Thread.sleep(50);
        }
    }

    private static long ms(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1_000_000;
    }

    private static void log(String format, Object... args) {
        System.out.printf("[ClusterFailoverIT] " + format + "%n", args);
    }
}
