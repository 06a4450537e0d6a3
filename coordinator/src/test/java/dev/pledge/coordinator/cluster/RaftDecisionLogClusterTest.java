package dev.pledge.coordinator.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.LogRecord;

import static dev.pledge.coordinator.cluster.RaftTestCluster.assertSameTable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What replication adds to the decision log contract: surviving a leader crash, catching up a
 * follower by snapshot, refusing to acknowledge on a minority (S2) and fencing a deposed leader's
 * COMMIT (S3). One 3-node group for the whole class; every test leaves it whole again.
 */
class RaftDecisionLogClusterTest {

    private static final Duration ELECTION = Duration.ofSeconds(15);
    private static final Duration CATCH_UP = Duration.ofSeconds(20);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(4);
    private static final long SNAPSHOT_THRESHOLD = 40;
    private static final long APPEND_WAIT_SECONDS = 20;

    @TempDir
    static Path root;

    private static RaftTestCluster cluster;
    private static final AtomicLong seq = new AtomicLong();

    @BeforeAll
    static void startGroup() throws Exception {
        cluster = RaftTestCluster.create(root, 3, options -> options
                .withSnapshotThreshold(SNAPSHOT_THRESHOLD)
                // Holds about 100 entries: the snapshot test closes (and purges) several segments,
                // the failover test stays inside one (see restartedOldLeader...).
                .withLogSegmentBytes(16 << 10)
                .withRequestTimeout(REQUEST_TIMEOUT));
        cluster.startAll();
        cluster.awaitReadyLeader(ELECTION);
    }

    @AfterEach
    void healGroup() throws Exception {
        cluster.startAll();
        cluster.awaitReadyLeader(ELECTION);
        cluster.awaitAllCaughtUp(CATCH_UP);
    }

    @AfterAll
    static void stopGroup() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void acknowledgedCommitSurvivesLeaderCrashAndAppendsContinueUnderTheNewLeader() throws Exception {
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        long oldTerm = leader.currentTerm();
        RaftDecisionLog follower = someFollower(leader);
        List<LeadershipListener.LeadershipEvent> events = Collections.synchronizedList(new ArrayList<>());
        cluster.running().stream().filter(n -> n != leader).forEach(n -> n.addLeadershipListener(events::add));
        String decided = nextTxid(oldTerm);
        await(follower.append(commit(decided), DecisionLog.Durability.FORCED));

        long crashedAt = System.nanoTime();
        cluster.stop(cluster.indexOf(leader));
        RaftDecisionLog newLeader = cluster.awaitReadyLeader(ELECTION);
        Duration failover = Duration.ofNanos(System.nanoTime() - crashedAt);

        assertThat(failover).as("time to a ready new leader").isLessThan(Duration.ofSeconds(10));
        assertThat(newLeader.currentTerm()).isGreaterThan(oldTerm);
        String afterFailover = nextTxid(newLeader.currentTerm());
        await(follower.append(commit(afterFailover), DecisionLog.Durability.FORCED));
        for (RaftDecisionLog survivor : cluster.running()) {
            survivor.awaitCaughtUp(CATCH_UP);
            assertThat(survivor.table().isPending(decided)).as("%s has the COMMIT acknowledged before the crash",
                    survivor.peerId()).isTrue();
            assertThat(survivor.table().isPending(afterFailover)).isTrue();
        }
        long readyTerm = newLeader.currentTerm();
        org.awaitility.Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> events.contains(
                new LeadershipListener.LeadershipEvent(LeadershipListener.Kind.LEADER_READY, readyTerm,
                        newLeader.peerId())));
    }

    /**
     * The crashed leader's log ends where the new term's first segment begins. Once the new leader
     * has snapshotted and purged the old term's segment, Ratis 3.2.2 alone can neither send the
     * returning node entries nor a snapshot (see {@link SnapshotFallbackRpcType}); it must still
     * catch up.
     */
    @Test
    void restartedOldLeaderCatchesUpAfterTheNewLeaderPurgedTheOldTerm() throws Exception {
        RaftDecisionLog oldLeader = cluster.awaitReadyLeader(ELECTION);
        oldLeader.awaitCaughtUp(CATCH_UP);
        long oldLeaderLast = oldLeader.appliedIndex();
        int oldLeaderSlot = cluster.indexOf(oldLeader);
        cluster.stop(oldLeaderSlot);
        RaftDecisionLog newLeader = cluster.awaitReadyLeader(ELECTION);
        long term = newLeader.currentTerm();

        // one at a time: concurrent appends would share Raft entries, and the log must grow
        for (int i = 0; i < SNAPSHOT_THRESHOLD + 20; i++) {
            await(newLeader.append(commit(nextTxid(term)), DecisionLog.Durability.FORCED));
        }
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS)
                .until(() -> newLeader.clusterStats().logStartIndex() > oldLeaderLast);
        long fallbacksBefore = SnapshotFallbackRpcType.fallbacks();

        RaftDecisionLog restarted = cluster.start(oldLeaderSlot);
        restarted.awaitCaughtUp(CATCH_UP);
        newLeader.awaitCaughtUp(CATCH_UP);

        assertThat(SnapshotFallbackRpcType.fallbacks()).as("the leader hit the case Ratis cannot handle")
                .isGreaterThan(fallbacksBefore);
        assertThat(restarted.clusterStats().snapshotsInstalled()).isPositive();
        assertSameTable(restarted.table(), newLeader.table());
    }

    @Test
    void commitFencedToADeposedLeadersTermChangesNothingOnAnyNode() throws Exception {
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        long oldTerm = leader.currentTerm();
        String inTerm = nextTxid(oldTerm);
        await(leader.appendAsLeader(commit(inTerm), oldTerm));
        // Depose the leader: its term ends, and a COMMIT it issued in that term arrives late,
        // through a survivor's client, at the new leader.
        cluster.stop(cluster.indexOf(leader));
        RaftDecisionLog newLeader = cluster.awaitReadyLeader(ELECTION);
        RaftDecisionLog survivor = cluster.running().get(0);
        String late = nextTxid(oldTerm);

        CompletableFuture<Void> lateCommit = survivor.appendAsLeader(commit(late), oldTerm);

        assertThatThrownBy(() -> lateCommit.get(APPEND_WAIT_SECONDS, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(AppendOutcomeUnknownException.class)
                .hasMessageContaining("COMMIT " + late);
        for (RaftDecisionLog node : cluster.running()) {
            node.awaitCaughtUp(CATCH_UP);
            assertThat(node.table().isPending(late)).as("%s applied a fenced-out COMMIT", node.peerId()).isFalse();
            assertThat(node.table().isPending(inTerm)).isTrue();
            assertThat(node.clusterStats().entriesFencedOut()).isPositive();
        }
        String current = nextTxid(newLeader.currentTerm());
        await(newLeader.appendAsLeader(commit(current), newLeader.currentTerm()));
        assertThat(newLeader.table().isPending(current)).isTrue();
    }

    /**
     * Appends made while earlier ones are in flight leave together as one BATCH entry; inside it
     * every record keeps its own fence (here: records fenced to a term that is not the one they
     * land in, mixed with current ones) and its own outcome.
     */
    @Test
    void concurrentAppendsTravelTogetherAndEachRecordKeepsItsOwnFence() throws Exception {
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        long term = leader.currentTerm();
        long wrongTerm = term + 100;
        RaftDecisionLog follower = someFollower(leader);
        DecisionLog.LogStats before = follower.stats();
        List<String> current = new ArrayList<>();
        List<CompletableFuture<Void>> currentAppends = new ArrayList<>();
        List<String> fenced = new ArrayList<>();
        List<CompletableFuture<Void>> fencedAppends = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            String txid = nextTxid(term);
            if (i % 3 == 2) {
                fenced.add(txid);
                fencedAppends.add(follower.appendAsLeader(commit(txid), wrongTerm));
            } else {
                current.add(txid);
                currentAppends.add(i % 3 == 0 ? follower.appendAsLeader(commit(txid), term)
                        : follower.append(commit(txid), DecisionLog.Durability.FORCED));
            }
        }
        await(CompletableFuture.allOf(currentAppends.toArray(CompletableFuture[]::new)));
        for (int i = 0; i < fenced.size(); i++) {
            CompletableFuture<Void> append = fencedAppends.get(i);
            assertThatThrownBy(() -> append.get(APPEND_WAIT_SECONDS, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(AppendOutcomeUnknownException.class)
                    .hasMessageContaining("COMMIT " + fenced.get(i));
        }
        DecisionLog.LogStats after = follower.stats();

        assertThat(after.records() - before.records()).as("records acknowledged").isEqualTo(current.size());
        assertThat(after.batches() - before.batches()).as("Raft entries that carried them")
                .isLessThan(current.size() / 2);
        for (RaftDecisionLog node : cluster.running()) {
            node.awaitCaughtUp(CATCH_UP);
            assertThat(current).as("%s applied every current record of the batches", node.peerId())
                    .allMatch(txid -> node.table().isPending(txid));
            assertThat(fenced).as("%s applied a record fenced to another term", node.peerId())
                    .noneMatch(txid -> node.table().isPending(txid));
        }
    }

    /**
     * The leader lease: a leader cut off from every follower (as a frozen or partitioned one is) stops
     * deciding within 90 % of the minimum election timeout of the last acknowledgement, while Ratis
     * still calls it the leader, so no other node can have been elected before it stops (S3's cluster form).
     */
    @Test
    void leaderCutOffFromItsFollowersLosesItsLeaseBeforeRatisStepsItDown() throws Exception {
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        long term = leader.currentTerm();
        await(leader.appendAsLeader(commit(nextTxid(term)), term));
        assertThat(leader.mayDecideIn(term)).as("a leader its followers just acknowledged").isTrue();
        assertThat(leader.mayDecideIn(term + 1)).as("another term").isFalse();

        for (RaftDecisionLog node : List.copyOf(cluster.running())) {
            if (node != leader) {
                cluster.stop(cluster.indexOf(node)); // closing a node takes a while: it acknowledges until closed
            }
        }
        long cutAt = System.nanoTime();
        while (leader.mayDecideIn(term)) {
            assertThat(System.nanoTime() - cutAt).as("lease still held 5 s after the cut").isLessThan(5_000_000_000L);
            Thread.sleep(5);
        }
        long lostAfterMs = (System.nanoTime() - cutAt) / 1_000_000;
        boolean ratisStillSaysLeader = leader.isLeader();

        assertThat(lostAfterMs).as("lease lost this long after the followers were gone (lease 900 ms)")
                .isLessThan(1_000);
        assertThat(ratisStillSaysLeader).as("Ratis had not stepped the leader down yet: the lease, not the"
                + " step-down, stopped it (lost after %d ms)", lostAfterMs).isTrue();
    }

    @Test
    void laggingFollowerCatchesUpBySnapshotInstallAndMatchesTheLeader() throws Exception {
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        int lagging = cluster.indexOf(someFollower(leader));
        long laggingApplied = cluster.node(lagging).appliedIndex();
        cluster.stop(lagging);

        List<CompletableFuture<Void>> appends = new ArrayList<>();
        List<String> txids = new ArrayList<>();
        for (int i = 0; i < SNAPSHOT_THRESHOLD * 4; i++) {
            String txid = nextTxid(leader.currentTerm());
            txids.add(txid);
            appends.add(leader.append(commit(txid), DecisionLog.Durability.FORCED));
            if (i % 3 == 2) {
                appends.add(leader.append(new LogRecord.Completed(txids.subList(i - 2, i)),
                        DecisionLog.Durability.LAZY));
            }
            if (i % 50 == 0) {
                appends.add(leader.append(new LogRecord.Heuristic("h" + i, txid, "b1", "orders-db", null,
                        "COMMIT", "alice", "snapshot test " + i, false, 1_700_000_000_000L, null), DecisionLog.Durability.FORCED));
            }
            // before the next COMMIT: concurrent appends would share Raft entries, and the log must grow
            await(CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)));
            appends.clear();
        }
        org.awaitility.Awaitility.await().atMost(10, TimeUnit.SECONDS)
                .until(() -> leader.clusterStats().logStartIndex() > laggingApplied + 1);

        RaftDecisionLog restarted = cluster.start(lagging);
        restarted.awaitCaughtUp(CATCH_UP);
        leader.awaitCaughtUp(CATCH_UP);

        assertThat(restarted.clusterStats().snapshotsInstalled()).as("snapshots installed from the leader")
                .isPositive();
        assertSameTable(restarted.table(), leader.table());
    }

    @Test
    void appendOnAMinorityFailsWithAnUnknownOutcomeInsteadOfSucceeding() throws Exception {
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        for (RaftDecisionLog other : cluster.running()) {
            if (other != leader) {
                cluster.stop(cluster.indexOf(other));
            }
        }
        String txid = nextTxid(leader.currentTerm());
        long started = System.nanoTime();

        CompletableFuture<Void> append = leader.append(commit(txid), DecisionLog.Durability.FORCED);

        assertThatThrownBy(() -> append.get(APPEND_WAIT_SECONDS, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(AppendOutcomeUnknownException.class)
                .hasMessageContaining("outcome unknown");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(REQUEST_TIMEOUT.plusSeconds(3));
        assertThat(leader.table().isPending(txid)).as("an unacknowledged COMMIT is not in the table").isFalse();
    }

    // ------------------------------------------------------------------------------------------

    private static RaftDecisionLog someFollower(RaftDecisionLog leader) {
        return cluster.running().stream().filter(n -> n != leader).findFirst().orElseThrow();
    }

    private static String nextTxid(long term) {
        return RaftTestCluster.CLUSTER_ID + ":" + term + ":" + seq.incrementAndGet();
    }

    static LogRecord.Commit commit(String txid) {
        return new LogRecord.Commit(txid, List.of(
                new LogRecord.Branch("b1", "orders-db", "http://orders.internal:8080/pledge/callback"),
                new LogRecord.Branch("b2", "payments-db", null)), 1_700_000_000_000L);
    }

    private static void await(CompletableFuture<Void> append) throws Exception {
        append.get(APPEND_WAIT_SECONDS, TimeUnit.SECONDS);
    }
}
