package dev.pledge.coordinator.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.pledge.coordinator.log.DecisionLog;

import static dev.pledge.coordinator.cluster.RaftDecisionLogClusterTest.commit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Planned maintenance (POST /api/v1/admin/cluster/leader): leadership moves to the named member, nowhere else. */
class RaftLeadershipTransferTest {

    private static final Duration ELECTION = Duration.ofSeconds(15);

    @TempDir
    Path root;

    private RaftTestCluster cluster;

    @AfterEach
    void stopGroup() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void leadershipMovesToTheNamedFollowerWhichThenDecides() throws Exception {
        cluster = RaftTestCluster.create(root, 3, options -> options);
        cluster.startAll();
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        leader.append(commit("test:" + leader.currentTerm() + ":1"), DecisionLog.Durability.FORCED)
                .get(20, TimeUnit.SECONDS);
        RaftDecisionLog target = cluster.running().stream().filter(n -> n != leader).findFirst().orElseThrow();
        long termBefore = leader.currentTerm();

        leader.transferLeadership(target.peerId(), Duration.ofSeconds(10));

        assertThat(cluster.awaitReadyLeader(ELECTION)).isSameAs(target);
        assertThat(target.currentTerm()).isGreaterThan(termBefore);
        target.append(commit("test:" + target.currentTerm() + ":2"), DecisionLog.Durability.FORCED)
                .get(20, TimeUnit.SECONDS);
        cluster.awaitAllCaughtUp(ELECTION);
        assertThat(leader.table().pendingCommits()).hasSize(2);
    }

    @Test
    void transferToAStoppedMemberFailsAndTheLeaderKeepsLeading() throws Exception {
        cluster = RaftTestCluster.create(root, 3, options -> options);
        cluster.startAll();
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        RaftDecisionLog follower = cluster.running().stream().filter(n -> n != leader).findFirst().orElseThrow();
        String stoppedId = follower.peerId();
        cluster.stop(cluster.indexOf(follower));

        assertThatThrownBy(() -> leader.transferLeadership(stoppedId, Duration.ofSeconds(2)))
                .hasMessageContaining(stoppedId);

        assertThat(cluster.awaitReadyLeader(ELECTION)).isSameAs(leader);
    }
}
