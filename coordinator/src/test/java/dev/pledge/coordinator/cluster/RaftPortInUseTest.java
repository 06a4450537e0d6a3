package dev.pledge.coordinator.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A node whose Raft port another process holds refuses to open with advice, instead of Ratis ending the
 * JVM; once the port is free the same storage opens normally.
 */
class RaftPortInUseTest {

    @Test
    void raftPortHeldByAnotherListenerFailsOpenWithAdviceAndLeavesTheStorageUsable(@TempDir Path root)
            throws Exception {
        try (RaftTestCluster cluster = RaftTestCluster.create(root, 1, UnaryOperator.identity())) {
            RaftDecisionLog.Peer self = cluster.peers().get(0);
            try (ServerSocket squatter = new ServerSocket()) {
                squatter.setReuseAddress(true);
                squatter.bind(new InetSocketAddress(self.host(), self.port()));

                assertThatThrownBy(() -> cluster.start(0))
                        .isInstanceOf(IOException.class)
                        .hasMessageContaining("cannot listen for its Raft peers on " + self.address())
                        .hasMessageContaining("stop it, or give node " + self.id() + " a free port");
            }

            RaftDecisionLog log = cluster.start(0);
            assertThat(cluster.awaitReadyLeader(Duration.ofSeconds(30))).isSameAs(log);
        }
    }
}
