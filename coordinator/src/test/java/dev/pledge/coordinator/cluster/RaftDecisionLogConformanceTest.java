package dev.pledge.coordinator.cluster;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterEach;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.DecisionLogConformanceTest;
import dev.pledge.coordinator.log.DecisionTable;
import dev.pledge.coordinator.log.LogRecord;

/**
 * The shared decision log suite against a 3-node Raft group in this JVM whose storage lives under
 * the suite's directory. The log under test is node n0's {@link RaftDecisionLog} (leader or not:
 * its appends reach the leader either way); closing it stops the whole group, and "reopen" starts
 * the whole group again on the same storage directories and ports. So every case that checks
 * durability after a reopen checks what the three Ratis logs and snapshots hold on disk, not what a
 * surviving node remembers. After the restart the factory waits for
 * {@link RaftDecisionLog#awaitCaughtUp}: a node's own {@code open()} replays what it knew to be
 * committed, the rest arrives once there is a leader.
 */
class RaftDecisionLogConformanceTest extends DecisionLogConformanceTest {

    private static final Duration CATCH_UP = Duration.ofSeconds(30);

    private RaftTestCluster cluster;
    private GroupLog current;

    @Override
    protected DecisionLog openLog(Path dir) throws IOException {
        if (cluster == null) {
            cluster = RaftTestCluster.create(dir, 3, options -> options);
        } else {
            cluster.stopAll();
        }
        cluster.startAll();
        RaftDecisionLog node = cluster.node(0);
        node.awaitCaughtUp(CATCH_UP);
        current = new GroupLog(node);
        return current;
    }

    @AfterEach
    void stopCluster() {
        if (cluster != null) {
            cluster.stopAll();
        }
    }

    /** Node n0's log; closing it stops the whole group (its three nodes close in parallel). */
    private final class GroupLog implements DecisionLog {
        private final RaftDecisionLog node;

        GroupLog(RaftDecisionLog node) {
            this.node = node;
        }

        @Override
        public void open() throws IOException {
            node.open();
        }

        @Override
        public CompletableFuture<Void> append(LogRecord record, Durability durability) {
            return node.append(record, durability);
        }

        @Override
        public DecisionTable table() {
            return node.table();
        }

        @Override
        public LogStats stats() {
            return node.stats();
        }

        @Override
        public void close() throws IOException {
            if (this == current) {
                cluster.stopAll();
            }
            node.close();
        }
    }
}
