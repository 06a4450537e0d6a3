package dev.pledge.coordinator.cluster.process;

import dev.pledge.testkit.ClusterView;
import dev.pledge.testkit.CoordinatorProcess;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * A Pledge cluster of coordinator JVMs on loopback, each started like ops/cluster/start-3.sh
 * starts one ({@code --pledge.cluster.mode=raft}, its own data directory, API and Raft port), that a
 * test can SIGKILL, SIGSTOP/SIGCONT and restart node by node on the same directories and ports.
 * Nodes are numbered 0..size-1 and named n1..nN.
 */
final class ProcessCluster implements AutoCloseable {
    static final String TOKEN = "cluster-it-token";

    /** One node as {@code GET /api/v1/cluster} on it describes itself. */
    record NodeView(int node, String role, String leaderUrl, long term, long commitIndex, long appliedIndex) {
        boolean leader() {
            return "LEADER".equals(role);
        }
    }

    private final Path dir;
    private final String clusterId;
    private final int[] apiPorts;
    private final int[] raftPorts;
    /** The Raft address the other nodes are told for each node (a proxy in front of it, or its own port). */
    private final int[] advertisedRaftPorts;
    private final CoordinatorProcess[] processes;
    private final boolean[] paused;
    private final List<String> commonArgs;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofMillis(500)).build();

    ProcessCluster(Path dir, String clusterId, int size, List<String> commonArgs) {
        this.dir = dir;
        this.clusterId = clusterId;
        this.apiPorts = new int[size];
        this.raftPorts = new int[size];
        this.advertisedRaftPorts = new int[size];
        this.processes = new CoordinatorProcess[size];
        this.paused = new boolean[size];
        this.commonArgs = List.copyOf(commonArgs);
        for (int i = 0; i < size; i++) {
            apiPorts[i] = CoordinatorProcess.freePort();
            raftPorts[i] = CoordinatorProcess.freePort();
            advertisedRaftPorts[i] = raftPorts[i];
        }
    }

    int size() {
        return processes.length;
    }

    int raftPort(int node) {
        return raftPorts[node];
    }

    /** Every other node reaches {@code node}'s Raft port through {@code port} (e.g. a TcpProxy); call before starting. */
    void advertiseRaftPort(int node, int port) {
        advertisedRaftPorts[node] = port;
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

    int nodeOfUrl(String url) {
        for (int i = 0; i < size(); i++) {
            if (apiUrl(i).equals(url)) {
                return i;
            }
        }
        return -1;
    }

    Path dataDir(int node) {
        return dir.resolve(nodeId(node));
    }

    CoordinatorProcess process(int node) {
        return processes[node];
    }

    boolean running(int node) {
        return processes[node] != null && processes[node].isAlive() && !paused[node];
    }

    /** The peer list as {@code node} is told it: itself at its own Raft port (it binds it), the others as advertised. */
    private String peersSeenBy(int node) {
        StringBuilder peers = new StringBuilder();
        for (int i = 0; i < size(); i++) {
            int raft = i == node ? raftPorts[i] : advertisedRaftPorts[i];
            peers.append(peers.length() == 0 ? "" : ",")
                    .append(nodeId(i)).append("@127.0.0.1:").append(raft).append("@").append(apiUrl(i));
        }
        return peers.toString();
    }

    /** Launches a node (first start or restart on the same directory and ports); does not wait for it. */
    void start(int node, List<String> extraArgs) throws IOException {
        if (processes[node] != null && processes[node].isAlive()) {
            throw new IllegalStateException(nodeId(node) + " is still running");
        }
        keepOutputOfPreviousRun(node);
        List<String> args = new ArrayList<>(List.of("--pledge.node-id=" + nodeId(node), "--pledge.cluster.mode=raft",
                "--pledge.cluster.peers=" + peersSeenBy(node), "--pledge.public-url=" + apiUrl(node)));
        args.addAll(commonArgs);
        args.addAll(extraArgs);
        processes[node] = CoordinatorProcess.start(dataDir(node), apiPorts[node], clusterId, TOKEN, args);
        paused[node] = false;
    }

    void startAll() throws Exception {
        for (int i = 0; i < size(); i++) {
            start(i, List.of());
        }
        awaitReady(Duration.ofSeconds(120));
    }

    void awaitReady(Duration timeout) throws Exception {
        for (int i = 0; i < size(); i++) {
            if (processes[i] != null && processes[i].isAlive()) {
                processes[i].awaitReady(timeout);
            }
        }
    }

    /** CoordinatorProcess writes each run's output to the same file; keep the earlier runs' next to it. */
    private void keepOutputOfPreviousRun(int node) throws IOException {
        CoordinatorProcess previous = processes[node];
        if (previous == null) {
            return;
        }
        Path out = previous.outputFile();
        if (Files.exists(out)) {
            Path kept = out.resolveSibling(out.getFileName() + ".before-restart");
            Files.writeString(kept, Files.exists(kept) ? Files.readString(kept) + Files.readString(out) : Files.readString(out));
        }
    }

    /** SIGKILL. */
    void kill(int node) throws InterruptedException {
        processes[node].kill();
        paused[node] = false;
    }

    /** SIGSTOP. */
    void pause(int node) throws Exception {
        processes[node].pause();
        paused[node] = true;
    }

    /** SIGCONT. */
    void resume(int node) throws Exception {
        processes[node].resume();
        paused[node] = false;
    }

    /** What {@code GET /api/v1/cluster} on the node says, or empty if it does not answer within a second. */
    Optional<NodeView> view(int node) {
        if (processes[node] == null || !processes[node].isAlive() || paused[node]) {
            return Optional.empty();
        }
        return ClusterView.fetch(http, apiUrl(node), TOKEN).map(v -> new NodeView(node, v.role(), v.leaderUrl(), v.term(),
                v.commitIndex(), v.appliedIndex()));
    }

    List<NodeView> views() {
        List<NodeView> all = new ArrayList<>();
        for (int i = 0; i < size(); i++) {
            view(i).ifPresent(all::add);
        }
        return all;
    }

    /**
     * Waits for a leader of a term of at least {@code minTerm} that a majority of the group (itself
     * included) recognises, and returns its node number.
     */
    int awaitLeader(Duration timeout, long minTerm) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        List<NodeView> last = List.of();
        while (System.nanoTime() - end < 0) {
            last = views();
            for (NodeView v : last) {
                if (v.leader() && v.term() >= minTerm) {
                    long followers = last.stream().filter(o -> o.node() != v.node() && o.term() == v.term()
                            && apiUrl(v.node()).equals(o.leaderUrl())).count();
                    if (followers + 1 > size() / 2) {
                        return v.node();
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no leader of term >= " + minTerm + " within " + timeout + "; nodes say " + last);
    }

    /** Waits until every running node has applied at least everything the leader had committed when asked. */
    void awaitAllCaughtUp(int leader, Duration timeout) throws InterruptedException {
        long target = view(leader).orElseThrow(() -> new AssertionError(nodeId(leader) + " does not answer"))
                .commitIndex();
        long end = System.nanoTime() + timeout.toNanos();
        List<NodeView> last = List.of();
        while (System.nanoTime() - end < 0) {
            last = views();
            long running = 0;
            for (int i = 0; i < size(); i++) {
                running += running(i) ? 1 : 0;
            }
            if (last.size() == running && last.stream().allMatch(v -> v.appliedIndex() >= target)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not every node applied index " + target + " within " + timeout + ": " + last);
    }

    /**
     * The first index still in a node's Raft log on disk (segments are {@code log_<first>-<last>} and
     * {@code log_inprogress_<first>}), i.e. where purging after its snapshots left it.
     */
    OptionalLong firstLogIndexOnDisk(int node) throws IOException {
        Path raft = dataDir(node).resolve("raft");
        if (!Files.isDirectory(raft)) {
            return OptionalLong.empty();
        }
        try (Stream<Path> files = Files.walk(raft, 3)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("log_"))
                    .mapToLong(n -> Long.parseLong(n.replace("log_inprogress_", "").replace("log_", "").split("-")[0]))
                    .min();
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < size(); i++) {
            if (processes[i] != null) {
                try {
                    processes[i].close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
