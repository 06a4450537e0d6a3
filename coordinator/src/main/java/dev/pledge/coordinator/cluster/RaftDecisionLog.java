package dev.pledge.coordinator.cluster;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.ExponentialBackoffRetry;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.DecisionTable;
import dev.pledge.coordinator.log.LogRecord;

/**
 * The cluster {@link DecisionLog}: one Apache Ratis group of N coordinators, embedded in each of
 * them (gRPC transport). The Ratis log is the durable store; {@link DecisionStateMachine} applies
 * committed entries to the same {@link DecisionTable} the file log replays into.
 *
 * <h2>Appending</h2>
 * {@link #append} encodes the record (the shared codec, inside a {@link RaftEntry}) on the caller's
 * thread and sends it with this node's ordered asynchronous Ratis client, which finds the leader
 * wherever it is. At most {@value #MAX_BATCHES_IN_FLIGHT} requests carrying records are in flight;
 * records appended meanwhile queue and leave together as one BATCH entry (group commit above Ratis:
 * each keeps its own fence term and outcome). The future completes normally only once the entry is committed (fsynced on a
 * majority: Ratis' log flush stays synchronous, unsafe-flush is never enabled) and applied to
 * <em>this</em> node's table, so the DecisionLog contract holds on followers too. It completes
 * exceptionally with {@link AppendOutcomeUnknownException} when that is not known within
 * {@link Options#requestTimeout()}: no majority, leader lost mid-append, this node closing... (S2).
 * {@link Durability#LAZY} is the same as FORCED: Raft has no cheaper path to a majority; Ratis
 * batches concurrent entries into one fsync per node by itself.
 *
 * <p>{@link #appendAsLeader} fences the entry to a leader term: it changes the table only if it
 * reaches the log in exactly that term. The engine uses it for COMMIT records of txids issued in
 * that term, so that a deposed leader's late COMMIT can never land after the new leader has
 * presumed the transaction aborted (S3).
 *
 * <p>Futures complete on this log's completer thread; attach follow-up work with the
 * {@code *Async} methods and never block in it (as with {@link dev.pledge.coordinator.log.FileDecisionLog}).
 *
 * <h2>Opening</h2>
 * {@link #open()} starts the local Ratis server (storage startup option RECOVER: snapshot plus
 * log), waits until everything this node already knew to be committed is applied, and returns. It
 * does not wait for a leader, because a node must be able to start while the others are down.
 * {@link #awaitCaughtUp(Duration)} is the barrier for "this node has applied everything the group
 * had committed" (it appends a no-op entry); {@link #awaitLeaderReady(Duration)} waits until this
 * node is a ready leader.
 *
 * <h2>Epochs</h2>
 * In cluster mode the epoch of DESIGN.md §3 is the Raft term: only a ready leader
 * ({@link #isLeaderReady()}) issues txids {@code <cluster>:<term>:<seq>}, where term is
 * {@link #currentTerm()}. EPOCH records are not needed (they are accepted and applied as usual).
 */
public final class RaftDecisionLog implements DecisionLog {

    private static final Logger log = LoggerFactory.getLogger(RaftDecisionLog.class);

    /** Appends in flight on one client before {@link #append} blocks the caller (backpressure). */
    static final int MAX_OUTSTANDING_APPENDS = 1024;
    /**
     * Raft requests carrying records that may be in flight at once. Records appended while all are
     * in flight wait and leave together in the next one, as one BATCH entry: group commit above
     * Ratis, so that under load a decision costs a fraction of a Raft entry (one client request,
     * one replication to each follower, one apply on each node) instead of a whole one.
     */
    static final int MAX_BATCHES_IN_FLIGHT = 2;
    static final int MAX_BATCH_RECORDS = 256;
    static final int MAX_BATCH_BYTES = 256 << 10;
    private static final long RETRY_BASE_SLEEP_MS = 25;
    private static final long RETRY_MAX_SLEEP_MS = 200;
    /** How long close() lets in-flight appends finish before failing them as unknown. */
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(5);
    /** Bound on the local replay in open(); far beyond any real replay of a snapshot and a log tail. */
    private static final Duration OPEN_REPLAY_TIMEOUT = Duration.ofMinutes(10);

    private static final Pattern CLUSTER_ID = Pattern.compile("[a-z0-9-]{1,12}");
    private static final Pattern PEER_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /**
     * A member of the Raft group.
     *
     * @param id   the Raft peer id, stable for the life of the node's storage ([A-Za-z0-9._-], at most 64)
     * @param host where the other members reach its Raft port
     * @param port its Raft (gRPC) port
     */
    public record Peer(String id, String host, int port) {
        public Peer {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(host, "host");
            if (!PEER_ID.matcher(id).matches()) {
                throw new IllegalArgumentException("Raft peer id '" + id + "' must match " + PEER_ID);
            }
            if (host.isBlank()) {
                throw new IllegalArgumentException("Raft peer " + id + " has a blank host");
            }
            if (port < 1 || port > 65_535) {
                throw new IllegalArgumentException("Raft peer " + id + " port " + port + " is outside [1, 65535]");
            }
        }

        /** Parses {@code host:port}. */
        public static Peer of(String id, String address) {
            int colon = address.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("Raft peer " + id + " address '" + address + "' is not host:port");
            }
            try {
                return new Peer(id, address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Raft peer " + id + " address '" + address + "' has no numeric port");
            }
        }

        public String address() {
            return host + ":" + port;
        }

        RaftPeer toRaftPeer() {
            return RaftPeer.newBuilder().setId(id).setAddress(address()).build();
        }

        static Peer of(RaftPeer peer) {
            return of(peer.getId().toString(), peer.getAddress());
        }
    }

    /**
     * Configuration of one node of a {@link RaftDecisionLog} group. Every value is checked here,
     * once, with a message that names it and its allowed range.
     *
     * @param clusterId           the Pledge cluster id; the Raft group id is derived from it, so two
     *                            Pledge clusters never join each other's group
     * @param peerId              this node's id; must be one of {@code peers}
     * @param peers               the group's members at first start (afterwards the configuration
     *                            stored in the Raft log wins; change it with {@link #setConfiguration})
     * @param storageDirectory    this node's Raft storage (log, metadata, snapshots)
     * @param electionTimeoutMin  a follower that hears no leader for a random time in
     *                            [min, max] starts a (pre-)vote. The coordinator's 500 ms - 1 s rides
     *                            out young-GC pauses; Ratis' 150-300 ms default does not. The first election after start uses a
     *                            quarter of these, so a cold group elects quickly (pre-vote keeps a
     *                            restarting node from disturbing a live leader)
     * @param electionTimeoutMax  see {@code electionTimeoutMin}
     * @param snapshotThreshold   take a snapshot every this many applied entries; the log is then
     *                            purged up to it (a follower that is further behind gets the snapshot)
     * @param logSegmentBytes     Raft log segment size; purging removes whole closed segments only
     * @param requestTimeout      an append that is not committed and applied here within this time
     *                            fails with an unknown outcome
     * @param joining             start with an empty configuration and wait to be added by the
     *                            leader ({@link #setConfiguration}); for a node replacing a failed one
     */
    public record Options(String clusterId, String peerId, List<Peer> peers, Path storageDirectory,
                          Duration electionTimeoutMin, Duration electionTimeoutMax, long snapshotThreshold,
                          long logSegmentBytes, Duration requestTimeout, boolean joining) {

        public static final Duration DEFAULT_ELECTION_TIMEOUT_MIN = Duration.ofMillis(500);
        public static final Duration DEFAULT_ELECTION_TIMEOUT_MAX = Duration.ofSeconds(1);
        public static final long DEFAULT_SNAPSHOT_THRESHOLD = 10_000;
        public static final long DEFAULT_LOG_SEGMENT_BYTES = 8L << 20;
        /** Below the engine's default append timeout (10 s), so this log's own reason is what surfaces. */
        public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(8);

        public Options {
            Objects.requireNonNull(clusterId, "clusterId");
            Objects.requireNonNull(peerId, "peerId");
            Objects.requireNonNull(storageDirectory, "storageDirectory");
            peers = List.copyOf(Objects.requireNonNull(peers, "peers"));
            if (!CLUSTER_ID.matcher(clusterId).matches()) {
                throw new IllegalArgumentException("RaftDecisionLog option clusterId = '" + clusterId
                        + "' must match [a-z0-9-]{1,12}");
            }
            if (peers.isEmpty()) {
                throw new IllegalArgumentException("RaftDecisionLog option peers is empty; list every member of the"
                        + " group, this one (" + peerId + ") included");
            }
            Set<String> ids = new HashSet<>();
            for (Peer peer : peers) {
                if (!ids.add(peer.id())) {
                    throw new IllegalArgumentException("RaftDecisionLog option peers lists peer id " + peer.id()
                            + " twice");
                }
            }
            if (!ids.contains(peerId)) {
                throw new IllegalArgumentException("RaftDecisionLog option peerId = " + peerId + " is not one of"
                        + " the peers " + ids);
            }
            checkDuration("electionTimeoutMin", electionTimeoutMin, Duration.ofMillis(100), Duration.ofMinutes(1));
            checkDuration("electionTimeoutMax", electionTimeoutMax, electionTimeoutMin.plusMillis(1),
                    Duration.ofMinutes(2));
            check("snapshotThreshold", snapshotThreshold, 1, 1_000_000_000);
            check("logSegmentBytes", logSegmentBytes, 4L << 10, 1L << 30);
            checkDuration("requestTimeout", requestTimeout, Duration.ofMillis(100), Duration.ofHours(1));
        }

        public static Options of(String clusterId, String peerId, List<Peer> peers, Path storageDirectory) {
            return new Options(clusterId, peerId, peers, storageDirectory, DEFAULT_ELECTION_TIMEOUT_MIN,
                    DEFAULT_ELECTION_TIMEOUT_MAX, DEFAULT_SNAPSHOT_THRESHOLD, DEFAULT_LOG_SEGMENT_BYTES,
                    DEFAULT_REQUEST_TIMEOUT, false);
        }

        public Options withElectionTimeout(Duration min, Duration max) {
            return new Options(clusterId, peerId, peers, storageDirectory, min, max, snapshotThreshold,
                    logSegmentBytes, requestTimeout, joining);
        }

        public Options withSnapshotThreshold(long value) {
            return new Options(clusterId, peerId, peers, storageDirectory, electionTimeoutMin, electionTimeoutMax,
                    value, logSegmentBytes, requestTimeout, joining);
        }

        public Options withLogSegmentBytes(long value) {
            return new Options(clusterId, peerId, peers, storageDirectory, electionTimeoutMin, electionTimeoutMax,
                    snapshotThreshold, value, requestTimeout, joining);
        }

        public Options withRequestTimeout(Duration value) {
            return new Options(clusterId, peerId, peers, storageDirectory, electionTimeoutMin, electionTimeoutMax,
                    snapshotThreshold, logSegmentBytes, value, joining);
        }

        public Options joining(boolean value) {
            return new Options(clusterId, peerId, peers, storageDirectory, electionTimeoutMin, electionTimeoutMax,
                    snapshotThreshold, logSegmentBytes, requestTimeout, value);
        }

        /** The Raft group id of a Pledge cluster: a name-based UUID of its cluster id. */
        public RaftGroupId groupId() {
            return groupIdOf(clusterId);
        }

        public Peer self() {
            return peers.stream().filter(p -> p.id().equals(peerId)).findFirst().orElseThrow();
        }

        private static void check(String name, long value, long min, long max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException("RaftDecisionLog option " + name + " = " + value
                        + " is outside the allowed range [" + min + ", " + max + "]");
            }
        }

        private static void checkDuration(String name, Duration value, Duration min, Duration max) {
            Objects.requireNonNull(value, name);
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new IllegalArgumentException("RaftDecisionLog option " + name + " = " + value
                        + " is outside the allowed range [" + min + ", " + max + "]");
            }
        }
    }

    /** What the Raft side of this node looks like now, for metrics, tests and the operations API. */
    public record ClusterStats(long term, String leaderId, boolean leader, boolean leaderReady, long logStartIndex,
                               long commitIndex, long appliedIndex, long entriesApplied, long entriesFencedOut,
                               long snapshotsTaken, long snapshotsLoaded, long snapshotsInstalled) {
    }

    private enum State { NEW, OPENING, OPEN, CLOSING, CLOSED }

    private final Options options;
    private final RaftGroupId groupId;
    private final String name;
    private final DecisionTable table = new DecisionTable();
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final AtomicReference<RaftClient> client = new AtomicReference<>();
    /** Raft requests (batches and barriers) not completed yet, with what they carry (for the messages at close). */
    private final Map<CompletableFuture<ByteString>, String> inFlight = new ConcurrentHashMap<>();
    /** Records waiting for a batch slot, in append order; guarded by itself, as is {@link #batchesInFlight}. */
    private final ArrayDeque<Queued> queued = new ArrayDeque<>();
    private int batchesInFlight;
    private final List<LeadershipListener> listeners = new CopyOnWriteArrayList<>();
    private final LongAdder statRecords = new LongAdder();
    private final LongAdder statBytes = new LongAdder();
    private final LongAdder statBatches = new LongAdder();

    private volatile DecisionStateMachine stateMachine;
    private volatile RaftServer server;
    private volatile RaftServer.Division division;
    /** {@link System#nanoTime()} until which the leader lease holds for sure; see {@link #hasLeaderLease()}. */
    private volatile long leaseUntilNanos = System.nanoTime();
    private ExecutorService completer;
    private ScheduledExecutorService timer;

    public RaftDecisionLog(Options options) {
        this.options = Objects.requireNonNull(options, "options");
        this.groupId = options.groupId();
        this.name = "decision log of Raft peer " + options.peerId() + " (cluster " + options.clusterId() + ")";
    }

    /** The Raft group id of a Pledge cluster: a name-based UUID of its cluster id. */
    public static RaftGroupId groupIdOf(String clusterId) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("pledge-cluster:" + clusterId)
                .getBytes(StandardCharsets.UTF_8)));
    }

    public Options options() {
        return options;
    }

    @Override
    public DecisionTable table() {
        return table;
    }

    /**
     * Why this node's Raft server no longer runs although the log is open, e.g. Ratis closed it after
     * a JVM pause longer than its close threshold (60 s): the node never rejoins by itself. Shown as
     * DOWN by the health endpoint, so that an operator or orchestrator restarts the coordinator.
     */
    @Override
    public Optional<String> failure() {
        RaftServer.Division d = division;
        if (state.get() == State.OPEN && d != null && !d.getInfo().isAlive()) {
            return Optional.of(name + ": its Raft server stopped (" + d.getInfo().getLifeCycleState() + "), e.g. after"
                    + " a JVM pause longer than Ratis' close threshold; this node no longer takes part in the group."
                    + " Restart this coordinator");
        }
        return Optional.empty();
    }

    /**
     * records: records appended through this node and acknowledged; batches: the Raft entries
     * (client requests) that carried them; forces equals batches here, as each entry is made durable
     * on a majority (how Ratis groups entries into fsyncs shows in its own metrics, {@code flushCount});
     * bytes: the records' encoded size.
     */
    @Override
    public LogStats stats() {
        long batches = statBatches.sum();
        return new LogStats(statRecords.sum(), batches, batches, statBytes.sum());
    }

    // ------------------------------------------------------------------------------------------
    // open

    @Override
    public void open() throws IOException {
        if (!state.compareAndSet(State.NEW, State.OPENING)) {
            throw new IllegalStateException(name + " was already opened (state " + state.get()
                    + "); open() may be called once");
        }
        long started = System.nanoTime();
        try {
            Files.createDirectories(options.storageDirectory());
            completer = Executors.newSingleThreadExecutor(daemon("pledge-raft-log-completer-" + options.peerId()));
            ScheduledThreadPoolExecutor deadlines = new ScheduledThreadPoolExecutor(1,
                    daemon("pledge-raft-log-timer-" + options.peerId()));
            // One deadline per append, nearly all cancelled early: do not keep them queued.
            deadlines.setRemoveOnCancelPolicy(true);
            deadlines.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            timer = deadlines;
            stateMachine = new DecisionStateMachine(table, new StateMachineEvents());
            RaftGroup startGroup = options.joining() ? RaftGroup.valueOf(groupId) : configuredGroup();
            requireRaftPortFree();
            try {
                server = RaftServer.newBuilder()
                        .setServerId(RaftPeerId.valueOf(options.peerId()))
                        .setGroup(startGroup)
                        .setStateMachine(stateMachine)
                        .setProperties(serverProperties(options))
                        .setParameters(new Parameters())
                        .setOption(RaftStorage.StartupOption.RECOVER)
                        .build();
                server.start();
            } catch (IOException e) {
                throw new IOException(name + " could not start its Raft server on " + options.self().address()
                        + " with storage " + options.storageDirectory() + ": " + e.getMessage() + ". Check that"
                        + " the port is free and that no other process uses the storage directory", e);
            }
            division = server.getDivision(groupId);
            client.set(newClient());
            long knownCommitted = division.getRaftLog().getLastCommittedIndex();
            awaitApplied(knownCommitted, OPEN_REPLAY_TIMEOUT, "replaying the local snapshot and log");
            state.set(State.OPEN);
            log.info("Opened {} in {} ms: storage {}, term {}, applied index {}, epoch {}, {} pending commit(s),"
                            + " peers {}", name, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
                    options.storageDirectory(), currentTerm(), appliedIndex(), table.epoch(),
                    table.pendingCommits().size(), peers());
        } catch (IOException | RuntimeException | Error e) {
            shutdownQuietly();
            state.set(State.NEW);
            throw e;
        }
    }

    /**
     * Ratis calls {@code System.exit(1)} when its gRPC server cannot bind, which ends the coordinator with a
     * stack trace and no advice. Binding the port once first turns the common case (another process holds it)
     * into an error that says what to do; the process still fails fast.
     */
    private void requireRaftPortFree() throws IOException {
        Peer self = options.self();
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(self.host(), self.port()));
        } catch (IOException e) {
            throw new IOException(name + " cannot listen for its Raft peers on " + self.address() + " (" + e.getMessage()
                    + "). Another process holds that port, often an earlier coordinator of this node that is still"
                    + " running: stop it, or give node " + self.id() + " a free port in pledge.cluster.peers on"
                    + " every node", e);
        }
    }

    private RaftGroup configuredGroup() {
        List<RaftPeer> peers = new ArrayList<>();
        options.peers().forEach(p -> peers.add(p.toRaftPeer()));
        return RaftGroup.valueOf(groupId, peers);
    }

    static RaftProperties serverProperties(Options options) {
        RaftProperties p = new RaftProperties();
        // gRPC, with the leader-side fix described in SnapshotFallbackRpcType.
        RaftConfigKeys.Rpc.setType(p, new SnapshotFallbackRpcType());
        RaftServerConfigKeys.setStorageDir(p, List.of(options.storageDirectory().toFile()));
        GrpcConfigKeys.Server.setHost(p, options.self().host());
        GrpcConfigKeys.Server.setPort(p, options.self().port());

        long min = options.electionTimeoutMin().toMillis();
        long max = options.electionTimeoutMax().toMillis();
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(min, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(max, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(min / 4, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(max / 4, TimeUnit.MILLISECONDS));
        // Pre-vote is the Ratis 3.x default; said explicitly because it is what makes a node that
        // was partitioned away rejoin without deposing a healthy leader.
        RaftServerConfigKeys.LeaderElection.setPreVote(p, true);

        // Durability: an entry counts toward the commit only once fsynced. Both are the defaults;
        // set so that nobody "tunes" them away.
        RaftServerConfigKeys.Log.setUnsafeFlushEnabled(p, false);
        RaftServerConfigKeys.Log.setAsyncFlushEnabled(p, false);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(options.logSegmentBytes()));

        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, options.snapshotThreshold());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
        // Purge up to the snapshot even if a follower is behind: the decision snapshot is small
        // (only undecided work), so sending it is cheaper than keeping the log for a dead node.
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
        RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(options.snapshotThreshold(), Integer.MAX_VALUE));
        return p;
    }

    private RaftClient newClient() {
        RaftProperties p = new RaftProperties();
        RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(
                Math.min(3_000, options.requestTimeout().toMillis()), TimeUnit.MILLISECONDS));
        RaftClientConfigKeys.Async.setOutstandingRequestsMax(p, MAX_OUTSTANDING_APPENDS);
        // The "dummy" request only warms up the connection, and logs an ERROR whenever the client
        // is created while there is no leader (every cold start).
        RaftClientConfigKeys.Async.Experimental.setSendDummyRequest(p, false);
        // Only a leader appends, so the first request goes to this node rather than to the group's
        // first peer: the client otherwise learns the leader from a NotLeaderException, which Ratis
        // logs as an ERROR on every node that wins its first election but is not listed first.
        return RaftClient.newBuilder()
                .setProperties(p)
                .setRaftGroup(currentGroup())
                .setLeaderId(RaftPeerId.valueOf(options.peerId()))
                .setRetryPolicy(retryPolicy(options.requestTimeout()))
                .build();
    }

    /**
     * Bounded exponential backoff (25 ms doubling to 200 ms, randomised) for about as long as the
     * request timeout: long enough to ride out an election, never forever. The cap is low because
     * the retries that matter are the ones just after an election, and a retry is one cheap RPC;
     * a 1 s cap made the first append after a fail-over wait up to a second for nothing. The request
     * timeout itself is enforced separately, by closing the client (see {@link #timedOut}).
     */
    static RetryPolicy retryPolicy(Duration requestTimeout) {
        long budget = requestTimeout.toMillis();
        int attempts = 0;
        long slept = 0;
        long sleep = RETRY_BASE_SLEEP_MS;
        while (slept < budget) {
            slept += sleep;
            sleep = Math.min(sleep * 2, RETRY_MAX_SLEEP_MS);
            attempts++;
        }
        return ExponentialBackoffRetry.newBuilder()
                .setBaseSleepTime(TimeDuration.valueOf(RETRY_BASE_SLEEP_MS, TimeUnit.MILLISECONDS))
                .setMaxSleepTime(TimeDuration.valueOf(RETRY_MAX_SLEEP_MS, TimeUnit.MILLISECONDS))
                .setMaxAttempts(Math.max(1, attempts))
                .build();
    }

    /** The group as this node knows it now (the log's configuration once there is one). */
    private RaftGroup currentGroup() {
        RaftServer.Division d = division;
        if (d != null) {
            RaftGroup known = d.getGroup();
            if (!known.getPeers().isEmpty()) {
                return known;
            }
        }
        return configuredGroup();
    }

    // ------------------------------------------------------------------------------------------
    // appending

    /** See the class comment: completes once committed on a majority and applied here. LAZY = FORCED. */
    @Override
    public CompletableFuture<Void> append(LogRecord record, Durability durability) {
        Objects.requireNonNull(record, "record");
        Objects.requireNonNull(durability, "durability");
        return submitRecord(record, RaftEntry.UNFENCED);
    }

    /** The engine's commit point in cluster mode: a COMMIT fenced to the leader term that issued its txid (S3). */
    @Override
    public CompletableFuture<Void> appendInEpoch(LogRecord record, long epoch) {
        return appendAsLeader(record, epoch);
    }

    /**
     * Appends a record that counts only if it reaches the Raft log in {@code leaderTerm}, the term
     * in which the caller saw this node as the ready leader (and issued the txid). If leadership
     * moved meanwhile, the entry changes nothing on any node and the future fails with
     * {@link AppendOutcomeUnknownException} (an earlier copy of the same request could still have
     * been applied in rare retry cases, so the outcome is reported as unknown, never as "not
     * committed"). This is how the commit point of a txid stays inside the term that issued it (S3).
     */
    public CompletableFuture<Void> appendAsLeader(LogRecord record, long leaderTerm) {
        Objects.requireNonNull(record, "record");
        if (leaderTerm <= 0) {
            throw new IllegalArgumentException("leaderTerm must be a positive Raft term: " + leaderTerm);
        }
        return submitRecord(record, leaderTerm);
    }

    private CompletableFuture<Void> submitRecord(LogRecord record, long fenceTerm) {
        State s = state.get();
        if (s != State.OPEN) {
            return CompletableFuture.failedFuture(notAccepting(s));
        }
        byte[] entry;
        try {
            entry = RaftEntry.encodeRecord(record, fenceTerm);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("record not appended to " + name + ": "
                    + e.getMessage(), e));
        }
        String what = describe(record) + (fenceTerm == RaftEntry.UNFENCED ? "" : " (fenced to term " + fenceTerm + ")");
        Queued q = new Queued(entry, what, new CompletableFuture<>());
        // Sent under the lock: the ordered client then carries records in append order.
        synchronized (queued) {
            queued.add(q);
            if (batchesInFlight < MAX_BATCHES_IN_FLIGHT) {
                sendBatch(takeBatch());
            }
        }
        return q.result;
    }

    /** One record waiting for, or travelling in, a batch. */
    private record Queued(byte[] entry, String what, CompletableFuture<Void> result) {
    }

    /** Takes the next batch off the queue and counts it in flight; the caller holds {@link #queued}'s lock and sends it. */
    private List<Queued> takeBatch() {
        List<Queued> batch = new ArrayList<>();
        int bytes = 0;
        while (!queued.isEmpty() && batch.size() < MAX_BATCH_RECORDS
                && (batch.isEmpty() || bytes + queued.peek().entry().length <= MAX_BATCH_BYTES)) {
            Queued next = queued.poll();
            bytes += next.entry().length;
            batch.add(next);
        }
        batchesInFlight++;
        return batch;
    }

    /** Called with {@link #queued}'s lock held, so that batches leave in the order they were taken. */
    private void sendBatch(List<Queued> batch) {
        byte[] entry;
        String what;
        if (batch.size() == 1) {
            entry = batch.get(0).entry();
            what = batch.get(0).what();
        } else {
            List<byte[]> entries = new ArrayList<>(batch.size());
            batch.forEach(q -> entries.add(q.entry()));
            entry = RaftEntry.encodeBatch(entries);
            what = "a batch of " + batch.size() + " records (" + batch.get(0).what() + ", ...)";
        }
        send(entry, what).whenComplete((statuses, error) -> {
            try {
                completeBatch(batch, statuses, error);
            } finally {
                synchronized (queued) {
                    batchesInFlight--;
                    if (!queued.isEmpty()) {
                        sendBatch(takeBatch());
                    }
                }
            }
        });
    }

    /** Completes each record of a batch: applied here, fenced out (its own fence term), or unknown. */
    private void completeBatch(List<Queued> batch, ByteString statuses, Throwable error) {
        if (error == null && statuses.size() != batch.size()) {
            error = unknown(batch.get(0).what(), "the state machine answered " + statuses.size() + " statuses for a"
                    + " batch of " + batch.size() + " records", null);
        }
        if (error == null) {
            statBatches.increment();
        }
        for (int i = 0; i < batch.size(); i++) {
            Queued q = batch.get(i);
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                // each record's own message names it (the batch's names only its first record)
                q.result().completeExceptionally(batch.size() == 1 || !(cause instanceof AppendOutcomeUnknownException)
                        ? cause : unknown(q.what(), "it travelled in one Raft entry with " + (batch.size() - 1)
                                + " other records, and that entry's append failed; see the cause", cause));
            } else if (statuses.byteAt(i) == DecisionStateMachine.FENCED_OUT) {
                q.result().completeExceptionally(unknown(q.what(), "it reached the Raft log in a later term, after"
                        + " leadership moved, so it changed nothing there; this node no longer leads that term", null));
            } else {
                statRecords.increment();
                statBytes.add(q.entry().length);
                q.result().complete(null);
            }
        }
    }

    /**
     * Appends a no-op entry and completes once it is applied here: from then on this node's table
     * holds every record the group had committed when the barrier was sent.
     */
    public CompletableFuture<Void> barrier() {
        State s = state.get();
        if (s != State.OPEN) {
            return CompletableFuture.failedFuture(notAccepting(s));
        }
        return send(RaftEntry.encodeBarrier(), "barrier").thenApply(statuses -> null);
    }

    /**
     * Waits until this node has applied everything its group had committed: appends barriers
     * (again after one times out, e.g. while a leader is being elected) until one is applied here.
     */
    public void awaitCaughtUp(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            try {
                barrier().get(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)), TimeUnit.MILLISECONDS);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while " + name + " was catching up with its group");
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof AppendOutcomeUnknownException) || deadline - System.nanoTime() <= 0) {
                    throw new IOException(name + " could not catch up with its group within " + timeout + "; is a"
                            + " majority of " + peers() + " running and reachable? Last attempt: "
                            + e.getCause().getMessage(), e.getCause());
                }
            } catch (TimeoutException e) {
                throw new IOException(name + " did not catch up with its group within " + timeout + "; is a"
                        + " majority of " + peers() + " running and reachable?", e);
            }
        }
    }

    /** One append or barrier on its way; completed on the completer thread (or by the deadline). */
    private static final class Pending {
        final String what;
        final RaftClient client;
        /** The state machine's reply (one status byte per record) once applied here. */
        final CompletableFuture<ByteString> result = new CompletableFuture<>();
        /** Log index the leader reported, once it did; -1 before. */
        volatile long committedIndex = -1;

        Pending(String what, RaftClient client) {
            this.what = what;
            this.client = client;
        }
    }

    /** Sends one Raft entry; completes with the state machine's reply once the entry is applied here. */
    private CompletableFuture<ByteString> send(byte[] entry, String what) {
        RaftClient c = client.get();
        if (c == null) {
            return CompletableFuture.failedFuture(notAccepting(state.get()));
        }
        Pending pending = new Pending(what, c);
        CompletableFuture<ByteString> result = pending.result;
        inFlight.put(result, what);
        ScheduledFuture<?> deadline;
        try {
            deadline = timer.schedule(() -> timedOut(pending), options.requestTimeout().toMillis(),
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            inFlight.remove(result);
            return CompletableFuture.failedFuture(notAccepting(state.get()));
        }
        result.whenComplete((v, e) -> {
            inFlight.remove(result);
            deadline.cancel(false);
        });
        CompletableFuture<RaftClientReply> reply;
        try {
            reply = c.async().send(Message.valueOf(ByteString.copyFrom(entry)));
        } catch (RuntimeException e) {
            reply = CompletableFuture.failedFuture(e);
        }
        reply.whenCompleteAsync((r, error) -> onReply(pending, r, error), completer);
        return result;
    }

    private void onReply(Pending pending, RaftClientReply reply, Throwable error) {
        CompletableFuture<ByteString> result = pending.result;
        if (result.isDone()) {
            return;
        }
        if (error != null) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            result.completeExceptionally(unknown(pending.what, "the Raft client gave up: " + cause, cause));
            replaceClient(pending.client);
            return;
        }
        if (!reply.isSuccess()) {
            result.completeExceptionally(unknown(pending.what, "the leader answered " + reply.getException(),
                    reply.getException()));
            return;
        }
        ByteString statuses = reply.getMessage().getContent();
        long index = reply.getLogIndex();
        pending.committedIndex = index;
        stateMachine.whenApplied(index).whenCompleteAsync((v, e) -> {
            if (e != null) {
                result.completeExceptionally(unknown(pending.what, "it was committed at index " + index
                        + ", but this node stopped before applying it", e));
            } else {
                result.complete(statuses);
            }
        }, completer);
    }

    /**
     * The deadline of one append passed. If no reply came, its client may still be retrying it
     * (and every later append, which the ordered client keeps behind it): close that client, so
     * nothing keeps retrying in the background, and let the next append open a fresh one.
     */
    private void timedOut(Pending pending) {
        long committed = pending.committedIndex;
        String why = committed >= 0
                ? "it was committed at index " + committed + ", but this node (applied index " + appliedIndex()
                        + ") had not applied it within " + options.requestTimeout()
                : "it was not committed within " + options.requestTimeout() + " (no leader, no majority, or this"
                        + " node cannot reach them)";
        if (pending.result.completeExceptionally(unknown(pending.what, why, null)) && committed < 0) {
            replaceClient(pending.client);
        }
    }

    /** An ordered Ratis client that failed once fails every later request, so it is replaced. */
    private void replaceClient(RaftClient failed) {
        if (state.get() != State.OPEN || client.get() != failed) {
            return;
        }
        RaftClient fresh;
        try {
            fresh = newClient();
        } catch (RuntimeException e) {
            log.warn("{}: could not create a new Raft client ({}); keeping the old one", name, e.toString());
            return;
        }
        if (client.compareAndSet(failed, fresh)) {
            log.info("{}: replaced its Raft client after a failed or timed-out append", name);
            closeQuietly(failed);
        } else {
            closeQuietly(fresh);
        }
    }

    private AppendOutcomeUnknownException unknown(String what, String why, Throwable cause) {
        return new AppendOutcomeUnknownException(what + ": outcome unknown, the record may or may not be committed"
                + " (" + name + ": " + why + "). Leave the transaction undecided and ask again; a ready leader"
                + " decides from the log", cause);
    }

    private Exception notAccepting(State s) {
        switch (s) {
            case NEW:
            case OPENING:
                return new IllegalStateException(name + " is not open; call open() before appending");
            default:
                return new IllegalStateException(name + " is closed; the record was not appended");
        }
    }

    static String describe(LogRecord record) {
        // Java 17: no pattern matching in switch yet
        if (record instanceof LogRecord.Commit c) {
            return "COMMIT " + c.txid();
        } else if (record instanceof LogRecord.Completed c) {
            return "COMPLETED of " + c.txids().size() + " txid(s)" + (c.txids().isEmpty() ? "" : " from " + c.txids().get(0));
        } else if (record instanceof LogRecord.Heuristic h) {
            return "HEURISTIC " + h.action() + " of " + h.txid() + " branch " + h.branchId();
        } else if (record instanceof LogRecord.Epoch e) {
            return "EPOCH " + e.epoch();
        }
        return record.getClass().getSimpleName();
    }

    // ------------------------------------------------------------------------------------------
    // leadership and membership

    public String peerId() {
        return options.peerId();
    }

    public boolean isLeader() {
        RaftServer.Division d = division;
        return d != null && d.getInfo().isLeader();
    }

    /**
     * This node leads, and an entry of its own term is committed and applied here, so every entry
     * of earlier terms is in {@link #table()} (S3). Only then may it decide or issue txids.
     */
    public boolean isLeaderReady() {
        RaftServer.Division d = division;
        return d != null && d.getInfo().isLeaderReady();
    }

    /**
     * The term in which this node is the ready leader, or empty if it is not: the epoch to put in
     * new txids, and the term to fence their COMMIT records to ({@link #appendAsLeader}). Reads
     * the term on both sides of the readiness check, so a term that changed in between (this node
     * deposed, another elected) is never returned with a stale "ready".
     */
    public OptionalLong readyLeaderTerm() {
        long before = currentTerm();
        boolean ready = isLeaderReady();
        long after = currentTerm();
        return ready && before == after && before > 0 ? OptionalLong.of(before) : OptionalLong.empty();
    }

    /**
     * The leader lease: a majority, this node included, acknowledged append-entries this leader *sent*
     * within the last 90 % of the minimum election timeout, so no other node can have been elected
     * meanwhile (a follower that heard from its leader that recently refuses to vote, pre-vote included).
     * A leader that was frozen (GC, SIGSTOP, a stalled VM) or cut off still believes it leads until Ratis
     * steps it down; without the lease it would issue txids of its old term in that window. Send times,
     * not receive times: answers that waited in a socket while the leader was frozen are as old as the
     * requests they answer. Cached until it can next expire, so the commit path pays a clock read.
     */
    public boolean hasLeaderLease() {
        if (System.nanoTime() - leaseUntilNanos < 0) {
            return true;
        }
        RaftServer.Division d = division;
        if (d == null || !d.getInfo().isLeader()) {
            return false;
        }
        long leaseNanos = options.electionTimeoutMin().toNanos() * 9 / 10;
        List<RaftPeerId> voters = d.getRaftConf().getCurrentPeers().stream().map(RaftPeer::getId).toList();
        int needed = voters.size() / 2; // acknowledgements besides this node's own for a majority
        if (needed == 0) {
            return true; // a group of one
        }
        // when this leader sent the last append-entries each voting follower accepted
        long[] sent = SnapshotFallbackRpcType.acceptedSendTimes(d.getMemberId()).entrySet().stream()
                .filter(e -> voters.contains(e.getKey())).mapToLong(Map.Entry::getValue).toArray();
        if (sent.length < needed) {
            return false;
        }
        Arrays.sort(sent); // oldest first; nanoTime values of one JVM, close together: no wrap-around to fear
        // from send times only, never "now + remaining": a thread frozen between reading the clock and writing
        // the field would otherwise stretch the lease past the freeze
        long until = sent[sent.length - needed] + leaseNanos;
        leaseUntilNanos = until;
        return System.nanoTime() - until < 0;
    }

    /** The engine's gate for issuing txids and deciding: the ready leader of exactly that term, with its lease. */
    @Override
    public boolean mayDecideIn(long epoch) {
        return readyLeaderTerm().orElse(-1) == epoch && hasLeaderLease();
    }

    /** This node's current Raft term: the epoch of the txids it issues while it is the ready leader. */
    public long currentTerm() {
        RaftServer.Division d = division;
        return d == null ? 0 : d.getInfo().getCurrentTerm();
    }

    /** The leader this node knows of, if any. */
    public Optional<String> leaderId() {
        RaftServer.Division d = division;
        RaftPeerId leader = d == null ? null : d.getInfo().getLeaderId();
        return Optional.ofNullable(leader).map(RaftPeerId::toString);
    }

    /** The leader's entry in the current configuration (its Raft address), if a leader is known. */
    public Optional<Peer> leader() {
        Optional<String> id = leaderId();
        return id.flatMap(leaderId -> peers().stream().filter(p -> p.id().equals(leaderId)).findFirst());
    }

    public long commitIndex() {
        RaftServer.Division d = division;
        return d == null ? -1 : d.getRaftLog().getLastCommittedIndex();
    }

    public long appliedIndex() {
        DecisionStateMachine sm = stateMachine;
        return sm == null ? -1 : sm.appliedIndex();
    }

    /** The current members of the group, as this node knows them (the configuration in the Raft log). */
    public List<Peer> peers() {
        RaftServer.Division d = division;
        List<Peer> peers = new ArrayList<>();
        if (d == null) {
            return options.peers();
        }
        d.getRaftConf().getCurrentPeers().forEach(p -> peers.add(Peer.of(p)));
        return peers;
    }

    public ClusterStats clusterStats() {
        DecisionStateMachine sm = stateMachine;
        RaftServer.Division d = division;
        long logStart = d == null ? -1 : d.getRaftLog().getStartIndex();
        return new ClusterStats(currentTerm(), leaderId().orElse(null), isLeader(), isLeaderReady(), logStart,
                commitIndex(), appliedIndex(), sm == null ? 0 : sm.entriesApplied(),
                sm == null ? 0 : sm.entriesFencedOut(), sm == null ? 0 : sm.snapshotsTaken(),
                sm == null ? 0 : sm.snapshotsLoaded(), sm == null ? 0 : sm.snapshotsInstalled());
    }

    public void addLeadershipListener(LeadershipListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public void removeLeadershipListener(LeadershipListener listener) {
        listeners.remove(listener);
    }

    /** Waits until this node is the ready leader; false if it is not within the timeout. */
    public boolean awaitLeaderReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!isLeaderReady()) {
            if (System.nanoTime() - deadline >= 0 || state.get() != State.OPEN) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    /**
     * Changes the members of the group (Raft joint consensus, through the leader). Used to replace
     * a failed node: see docs/architecture.md, "Replacing a failed coordinator node". Blocks until
     * the leader has committed the new configuration; a new member is caught up first (by log or
     * snapshot).
     */
    public void setConfiguration(List<Peer> newPeers) throws IOException {
        if (state.get() != State.OPEN) {
            throw new IllegalStateException(name + " is not open");
        }
        List<RaftPeer> raftPeers = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (Peer peer : newPeers) {
            if (!ids.add(peer.id())) {
                throw new IllegalArgumentException("the new configuration lists peer id " + peer.id() + " twice");
            }
            raftPeers.add(peer.toRaftPeer());
        }
        if (raftPeers.isEmpty()) {
            throw new IllegalArgumentException("the new configuration of the Raft group has no peers");
        }
        RaftClientReply reply;
        try (RaftClient admin = newClient()) {
            reply = admin.admin().setConfiguration(raftPeers);
        }
        if (!reply.isSuccess()) {
            throw new IOException(name + ": changing the group's members to " + newPeers + " failed: "
                    + reply.getException(), reply.getException());
        }
        log.info("{}: the group's members are now {}", name, newPeers);
    }

    /** Asks the leader to hand leadership to {@code peerId} (maintenance: drain a node before stopping it). */
    public void transferLeadership(String peerId, Duration timeout) throws IOException {
        if (state.get() != State.OPEN) {
            throw new IllegalStateException(name + " is not open");
        }
        RaftClientReply reply;
        try (RaftClient admin = newClient()) {
            reply = admin.admin().transferLeadership(RaftPeerId.valueOf(peerId), timeout.toMillis());
        }
        if (!reply.isSuccess()) {
            throw new IOException(name + ": transferring leadership to " + peerId + " failed: "
                    + reply.getException(), reply.getException());
        }
    }

    private final class StateMachineEvents implements DecisionStateMachine.Events {
        @Override
        public void leaderChanged(RaftPeerId newLeader) {
            publish(LeadershipListener.Kind.LEADER_CHANGED, newLeader == null ? null : newLeader.toString());
        }

        @Override
        public void leaderReady() {
            publish(LeadershipListener.Kind.LEADER_READY, options.peerId());
        }

        @Override
        public void notLeader() {
            publish(LeadershipListener.Kind.LEADERSHIP_LOST, null);
        }
    }

    private void publish(LeadershipListener.Kind kind, String leaderId) {
        long term = currentTerm();
        LeadershipListener.LeadershipEvent event = new LeadershipListener.LeadershipEvent(kind, term, leaderId);
        log.info("{}: {}", name, event);
        ExecutorService executor = completer;
        if (executor == null || listeners.isEmpty()) {
            return;
        }
        try {
            executor.execute(() -> {
                for (LeadershipListener listener : listeners) {
                    try {
                        listener.onLeadershipEvent(event);
                    } catch (RuntimeException e) {
                        log.warn("{}: leadership listener {} failed on {}", name, listener, event, e);
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    // ------------------------------------------------------------------------------------------
    // close

    /**
     * Lets appends in flight finish for a few seconds, then closes the client and the Raft server
     * (Ratis takes a snapshot at stop). Appends still in flight then fail with an unknown outcome;
     * later ones fail because the log is closed. Idempotent.
     */
    @Override
    public void close() throws IOException {
        State s;
        while (true) {
            s = state.get();
            if (s == State.CLOSING || s == State.CLOSED) {
                return;
            }
            if (s == State.OPENING) {
                throw new IllegalStateException(name + " is being opened; close it after open() returns");
            }
            if (state.compareAndSet(s, s == State.NEW ? State.CLOSED : State.CLOSING)) {
                break;
            }
        }
        if (s == State.NEW) {
            return;
        }
        long graceEnd = System.nanoTime() + Math.min(CLOSE_GRACE.toNanos(), options.requestTimeout().toNanos());
        try {
            while (!inFlight.isEmpty() && System.nanoTime() - graceEnd < 0) {
                Thread.sleep(10);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        shutdownQuietly();
        state.set(State.CLOSED);
        log.info("Closed {}", name);
    }

    private void shutdownQuietly() {
        IllegalStateException closed = new IllegalStateException(name + " is closed; the record was not appended");
        closeQuietly(client.getAndSet(null));
        RaftServer s = server;
        if (s != null) {
            try {
                s.close();
            } catch (IOException | RuntimeException e) {
                log.warn("{}: closing the Raft server failed: {}", name, e.toString());
            }
        }
        DecisionStateMachine sm = stateMachine;
        if (sm != null) {
            sm.failWaiters(closed);
        }
        RaftServer.Division d = division;
        if (d != null) {
            SnapshotFallbackRpcType.forget(d.getMemberId());
        }
        for (Map.Entry<CompletableFuture<ByteString>, String> pending : List.copyOf(inFlight.entrySet())) {
            pending.getKey().completeExceptionally(unknown(pending.getValue(), "this node closed while the append"
                    + " was in flight", closed));
        }
        shutdownExecutor(timer);
        shutdownExecutor(completer);
        division = null;
    }

    private static void shutdownExecutor(ExecutorService executor) {
        if (executor == null) {
            return;
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private void closeQuietly(RaftClient c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            log.warn("{}: closing a Raft client failed: {}", name, e.toString());
        }
    }

    private void awaitApplied(long index, Duration timeout, String doing) throws IOException {
        try {
            stateMachine.whenApplied(index).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while " + doing + " for " + name);
        } catch (ExecutionException e) {
            throw new IOException(name + " failed while " + doing + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException(name + " did not finish " + doing + " up to index " + index + " within " + timeout
                    + " (applied so far: " + appliedIndex() + ")", e);
        }
    }

    private static ThreadFactory daemon(String threadName) {
        return runnable -> {
            Thread t = new Thread(runnable, threadName);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public String toString() {
        return name;
    }
}
