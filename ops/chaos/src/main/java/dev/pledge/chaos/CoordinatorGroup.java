package dev.pledge.chaos;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorLaunch;
import dev.pledge.testkit.ClusterView;
import dev.pledge.testkit.CoordinatorProcess;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The campaign's coordinators: one node ({@code --cluster 1}, started exactly as before) or a Raft group of
 * three ({@code --cluster 3}, started like ops/cluster/start-3.sh: {@code --pledge.cluster.mode=raft}, one data
 * directory, API port and Raft port per node, the same cluster id, token and resources on every node, since any
 * of them may become leader and must bridge XA). A node keeps its directory and ports across restarts.
 * Nodes are numbered 0..size-1 and named n1..nN.
 */
final class CoordinatorGroup implements AutoCloseable {

    /** One node as {@code GET /api/v1/cluster} on it describes itself. */
    record NodeView(int node, String role, String leaderUrl, long term, long commitIndex, long appliedIndex) {
        boolean leader() {
            return "LEADER".equals(role);
        }
    }

    private final CoordinatorLaunch launch;
    private final Path workDir;
    private final String clusterId;
    private final String token;
    private final int[] apiPorts;
    private final int[] raftPorts;
    private final CoordinatorProcess[] processes;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(500)).build();

    CoordinatorGroup(CoordinatorLaunch launch, Path workDir, int size, String clusterId, String token) {
        if (size != 1 && size != 3) {
            throw new IllegalArgumentException("--cluster " + size + ": the campaign runs 1 coordinator or a group of 3");
        }
        this.launch = launch;
        this.workDir = workDir;
        this.clusterId = clusterId;
        this.token = token;
        this.apiPorts = new int[size];
        this.raftPorts = new int[size];
        this.processes = new CoordinatorProcess[size];
        for (int i = 0; i < size; i++) {
            apiPorts[i] = CoordinatorProcess.freePort();
            raftPorts[i] = CoordinatorProcess.freePort();
        }
    }

    int size() {
        return processes.length;
    }

    boolean clustered() {
        return size() > 1;
    }

    String nodeId(int node) {
        return "n" + (node + 1);
    }

    String apiUrl(int node) {
        return "http://127.0.0.1:" + apiPorts[node];
    }

    /** Every node's API URL, comma-separated, as the SDK takes them. */
    String apiUrls() {
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < size(); i++) {
            urls.add(apiUrl(i));
        }
        return String.join(",", urls);
    }

    CoordinatorProcess process(int node) {
        return processes[node];
    }

    /** Single mode keeps the directory it always had; cluster nodes get n1..n3. */
    private Path dataDir(int node) {
        return workDir.resolve(clustered() ? nodeId(node) : "coordinator");
    }

    /** Launches a node (first start or restart on the same directory and ports) with {@code args}; does not wait. */
    CoordinatorProcess launch(int node, List<String> args) throws IOException {
        if (processes[node] != null && processes[node].isAlive()) {
            throw new IllegalStateException(nodeId(node) + " is still running");
        }
        List<String> all = new ArrayList<>();
        if (clustered()) {
            all.addAll(List.of("--pledge.node-id=" + nodeId(node), "--pledge.cluster.mode=raft",
                    "--pledge.cluster.peers=" + peers(), "--pledge.public-url=" + apiUrl(node)));
        }
        all.addAll(args);
        processes[node] = launch.start(dataDir(node), apiPorts[node], clusterId, token, all);
        return processes[node];
    }

    private String peers() {
        StringBuilder peers = new StringBuilder();
        for (int i = 0; i < size(); i++) {
            peers.append(peers.length() == 0 ? "" : ",").append(nodeId(i)).append("@127.0.0.1:").append(raftPorts[i])
                    .append('@').append(apiUrl(i));
        }
        return peers.toString();
    }

    /** What {@code GET /api/v1/cluster} on the node says, or empty if it does not answer within a second. */
    Optional<NodeView> view(int node) {
        if (processes[node] == null || !processes[node].isAlive()) {
            return Optional.empty();
        }
        return ClusterView.fetch(http, apiUrl(node), token).map(v -> new NodeView(node, v.role(), v.leaderUrl(), v.term(),
                v.commitIndex(), v.appliedIndex()));
    }

    /**
     * Waits until every node runs, one of them leads, every other node names it as its leader in the same term,
     * and every node has applied everything the leader had committed; returns the leader. A single node is its
     * own leader once ready.
     */
    int awaitSettled(Duration timeout) throws InterruptedException {
        if (!clustered()) {
            return 0;
        }
        long end = System.nanoTime() + timeout.toNanos();
        List<NodeView> last = List.of();
        while (System.nanoTime() - end < 0) {
            last = new ArrayList<>();
            for (int i = 0; i < size(); i++) {
                view(i).ifPresent(last::add);
            }
            if (last.size() == size()) {
                for (NodeView v : last) {
                    if (v.leader() && settledUnder(v, last)) {
                        return v.node();
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the group did not settle (every node following one leader, caught up) within "
                + timeout + "; nodes say " + last);
    }

    private boolean settledUnder(NodeView leader, List<NodeView> all) {
        for (NodeView v : all) {
            if (v.node() != leader.node() && (v.leader() || v.term() != leader.term()
                    || !apiUrl(leader.node()).equals(v.leaderUrl()))) {
                return false;
            }
            if (v.appliedIndex() < leader.commitIndex()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Hands leadership to {@code node} ({@code POST /api/v1/admin/cluster/leader} on the current leader) and waits
     * until the group has settled under it.
     */
    void transferLeadership(int leader, int node, Duration timeout) throws InterruptedException {
        ApiClient.Response r = new ApiClient(apiUrl(leader), token).post("/api/v1/admin/cluster/leader",
                "{\"nodeId\":\"" + nodeId(node) + "\"}");
        if (r.status() != 200) {
            throw new IllegalStateException("moving leadership from " + nodeId(leader) + " to " + nodeId(node)
                    + " answered " + r.status() + ": " + r.body());
        }
        int now = awaitSettled(timeout);
        if (now != node) {
            throw new IllegalStateException("leadership moved to " + nodeId(now) + ", not " + nodeId(node));
        }
    }

    @Override
    public void close() throws InterruptedException {
        for (CoordinatorProcess p : processes) {
            if (p != null) {
                p.close();
            }
        }
    }
}
