package dev.pledge.coordinator.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.pledge.coordinator.log.DecisionLog;

import static dev.pledge.coordinator.cluster.RaftDecisionLogClusterTest.commit;
import static dev.pledge.coordinator.cluster.RaftTestCluster.assertSameTable;
import static org.assertj.core.api.Assertions.assertThat;

/** The runbook procedure for a coordinator node whose disk is gone: replace it under a new peer id. */
class RaftMembershipChangeTest {

    private static final Duration ELECTION = Duration.ofSeconds(15);
    private static final Duration CATCH_UP = Duration.ofSeconds(20);

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
    void failedNodeIsReplacedByANewMemberThatReceivesEveryDecision() throws Exception {
        cluster = RaftTestCluster.create(root, 3, options -> options.withSnapshotThreshold(20));
        cluster.startAll();
        RaftDecisionLog leader = cluster.awaitReadyLeader(ELECTION);
        for (int i = 1; i <= 30; i++) {
            leader.append(commit("test:" + leader.currentTerm() + ":" + i), DecisionLog.Durability.FORCED)
                    .get(20, TimeUnit.SECONDS);
        }
        int failed = cluster.indexOf(cluster.running().stream().filter(n -> n != leader).findFirst().orElseThrow());
        String failedId = cluster.peers().get(failed).id();
        cluster.stop(failed);

        RaftDecisionLog replacement = cluster.startReplacement(failed);
        leader.setConfiguration(cluster.peers());
        replacement.awaitCaughtUp(CATCH_UP);

        assertThat(leader.peers()).extracting(RaftDecisionLog.Peer::id)
                .containsExactlyInAnyOrderElementsOf(cluster.peers().stream().map(RaftDecisionLog.Peer::id).toList())
                .doesNotContain(failedId);
        assertThat(replacement.peers()).containsExactlyInAnyOrderElementsOf(leader.peers());
        replacement.append(commit("test:99:1"), DecisionLog.Durability.FORCED).get(20, TimeUnit.SECONDS);
        cluster.awaitAllCaughtUp(CATCH_UP);
        assertSameTable(replacement.table(), leader.table());
        assertThat(replacement.table().pendingCommits()).hasSize(31);
    }
}
