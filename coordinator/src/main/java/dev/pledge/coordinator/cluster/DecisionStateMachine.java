package dev.pledge.coordinator.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.pledge.coordinator.log.DecisionTable;
import dev.pledge.coordinator.log.LogFormatException;

/**
 * The Raft state machine of the decision log: a thin adapter that applies committed entries to the
 * same {@link DecisionTable} the file log replays into, snapshots that table, and tells
 * {@link RaftDecisionLog} when an index has been applied here and when leadership moves.
 *
 * <p>Ratis calls {@link #applyTransaction}, {@link #takeSnapshot} and {@link #reinitialize} from one
 * thread (its state machine updater), so the table and the last applied term-index always change
 * together and a snapshot sees a table that matches its index exactly.
 *
 * <p>Fencing: an entry fenced to a term (see {@link RaftEntry}) changes nothing unless it was
 * appended to the log in that very term. Every node sees the same term for the same entry, so every
 * node makes the same choice. This is what keeps a deposed leader's late COMMIT out of a log whose
 * new leader may already have presumed that transaction aborted (safety rule S3).
 */
final class DecisionStateMachine extends BaseStateMachine {

    private static final Logger log = LoggerFactory.getLogger(DecisionStateMachine.class);

    /** Reply of {@link #applyTransaction}: the entry changed the table (or was a barrier). */
    static final byte APPLIED = 0;
    /** Reply of {@link #applyTransaction}: a fenced entry landed in another term and changed nothing. */
    static final byte FENCED_OUT = 1;
    private static final Message APPLIED_REPLY = Message.valueOf(ByteString.copyFrom(new byte[] {APPLIED}));
    private static final Message FENCED_OUT_REPLY = Message.valueOf(ByteString.copyFrom(new byte[] {FENCED_OUT}));

    /** What the state machine reports to its {@link RaftDecisionLog}; called on Ratis threads, must not block. */
    interface Events {
        void leaderChanged(RaftPeerId newLeader);

        void leaderReady();

        void notLeader();
    }

    private final DecisionTable table;
    private final Events events;
    /**
     * Ratis 3.2.2: {@code SimpleStateMachineStorage.loadLatestSnapshot()} hands {@code null} to
     * {@code updateLatestSnapshot} while the directory holds no snapshot yet, and the base method throws
     * a NullPointerException if another thread published the first snapshot in between. The leader's
     * log appenders ask for the latest snapshot on every batch, and an appender that throws is never
     * restarted ("is not running: skipping restart"): that follower gets nothing more until the
     * leadership changes. Seen in ops/bench/raft-bench.sh at the leader's first snapshot.
     */
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage() {
        @Override
        public SingleFileSnapshotInfo updateLatestSnapshot(SingleFileSnapshotInfo info) {
            return info == null ? null : super.updateLatestSnapshot(info);
        }
    };

    /** Futures waiting for an index to be applied here, by index; guarded by itself. */
    private final NavigableMap<Long, CompletableFuture<Void>> appliedWaiters = new TreeMap<>();
    private long waitersAppliedIndex = RaftLog.INVALID_LOG_INDEX;
    private Exception closedCause;

    private volatile long entriesApplied;
    private volatile long entriesFencedOut;
    private volatile long snapshotsTaken;
    private volatile long snapshotsLoaded;
    private volatile long snapshotsInstalled;

    DecisionStateMachine(DecisionTable table, Events events) {
        this.table = Objects.requireNonNull(table, "table");
        this.events = Objects.requireNonNull(events, "events");
    }

    // ------------------------------------------------------------------------------------------
    // life cycle and snapshots

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        deleteTemporarySnapshots(raftStorage.getStorageDir().getStateMachineDir());
        LifeCycle lifeCycle = getLifeCycle();
        lifeCycle.transition(LifeCycle.State.STARTING);
        load(storage.getLatestSnapshot());
        lifeCycle.transition(LifeCycle.State.RUNNING);
    }

    /** Ratis pauses the state machine before it installs a snapshot sent by the leader (once per chunk). */
    @Override
    public void pause() {
        LifeCycle lifeCycle = getLifeCycle();
        if (lifeCycle.compareAndTransition(LifeCycle.State.RUNNING, LifeCycle.State.PAUSING)) {
            lifeCycle.transition(LifeCycle.State.PAUSED);
        }
    }

    /** After a snapshot from the leader was installed: the table becomes that snapshot. */
    @Override
    public void reinitialize() throws IOException {
        load(storage.loadLatestSnapshot());
        snapshotsInstalled++;
        LifeCycle lifeCycle = getLifeCycle();
        if (lifeCycle.compareAndTransition(LifeCycle.State.PAUSED, LifeCycle.State.STARTING)) {
            lifeCycle.transition(LifeCycle.State.RUNNING);
        }
    }

    @Override
    public StateMachineStorage getStateMachineStorage() {
        return storage;
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() < 0) {
            return RaftLog.INVALID_LOG_INDEX;
        }
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        long started = System.nanoTime();
        DecisionSnapshotFile.Contents contents = DecisionSnapshotFile.Contents.of(table, last.getTerm(), last.getIndex());
        DecisionSnapshotFile.write(file.toPath(), contents);
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
        snapshotsTaken++;
        log.info("{}: decision snapshot at {} written to {} in {} ms: epoch {}, {} pending commit(s),"
                        + " {} heuristic record(s), {} remembered completion(s)", getId(), last, file.getName(),
                (System.nanoTime() - started) / 1_000_000, contents.epoch(), contents.commits().size(),
                contents.heuristics().size(), contents.completedTxids().size());
        return last.getIndex();
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) {
            return;
        }
        File file = snapshot.getFile().getPath().toFile();
        MD5Hash md5 = snapshot.getFile().getFileDigest();
        if (md5 != null) {
            MD5FileUtil.verifySavedMD5(file, md5);
        }
        TermIndex named = SimpleStateMachineStorage.getTermIndexFromSnapshotFile(file);
        DecisionSnapshotFile.Contents contents = DecisionSnapshotFile.read(file.toPath());
        if (contents.term() != named.getTerm() || contents.index() != named.getIndex()) {
            throw new LogFormatException("decision snapshot " + file + " holds term-index (" + contents.term() + ", "
                    + contents.index() + ") but its name says " + named + "; it was renamed or damaged");
        }
        contents.loadInto(table);
        setLastAppliedTermIndex(named);
        snapshotsLoaded++;
        signalApplied(named.getIndex());
        log.info("{}: loaded decision snapshot {}: epoch {}, {} pending commit(s), {} heuristic record(s)",
                getId(), file.getName(), contents.epoch(), contents.commits().size(), contents.heuristics().size());
    }

    private static void deleteTemporarySnapshots(File stateMachineDir) throws IOException {
        if (stateMachineDir == null || !stateMachineDir.isDirectory()) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(stateMachineDir.toPath(), "snapshot.*.tmp")) {
            for (Path tmp : files) {
                log.info("Deleting {}, a snapshot that was being written when the node stopped", tmp);
                Files.delete(tmp);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // applying entries

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        List<RaftEntry> decoded;
        try {
            decoded = RaftEntry.decodeAll(entry.getStateMachineLogEntry().getLogData().toByteArray());
        } catch (LogFormatException e) {
            // Skipping a committed entry would let this node's table silently differ from the
            // others'. Throwing here stops this Raft server (Ratis closes it); the others go on.
            String message = "committed Raft entry " + TermIndex.valueOf(entry) + " of the decision log cannot be"
                    + " decoded by this node: " + e.getMessage() + ". This node stops applying entries and shuts down"
                    + " its Raft server; upgrade it to a release that reads the entry, then restart it";
            log.error(message);
            throw new IllegalStateException(message, e);
        }
        // One status byte per record (a single RECORD or BARRIER keeps its one-byte reply).
        byte[] statuses = new byte[decoded.size()];
        for (int i = 0; i < statuses.length; i++) {
            RaftEntry one = decoded.get(i);
            statuses[i] = APPLIED;
            if (one.type() != RaftEntry.Type.RECORD) {
                continue;
            }
            if (one.appliesIn(entry.getTerm())) {
                table.apply(one.record());
                entriesApplied++;
            } else {
                entriesFencedOut++;
                statuses[i] = FENCED_OUT;
                log.info("{}: entry {} was fenced to term {} but reached the log in term {}; it changes nothing: {}",
                        getId(), TermIndex.valueOf(entry), one.fenceTerm(), entry.getTerm(), one.record());
            }
        }
        Message reply = statuses.length != 1 ? Message.valueOf(ByteString.copyFrom(statuses))
                : statuses[0] == APPLIED ? APPLIED_REPLY : FENCED_OUT_REPLY;
        updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        return CompletableFuture.completedFuture(reply);
    }

    @Override
    protected boolean updateLastAppliedTermIndex(TermIndex newTermIndex) {
        boolean changed = super.updateLastAppliedTermIndex(newTermIndex);
        signalApplied(newTermIndex.getIndex());
        return changed;
    }

    /** Completes once this node has applied {@code index} (normally; exceptionally if it closes first). */
    CompletableFuture<Void> whenApplied(long index) {
        synchronized (appliedWaiters) {
            if (closedCause != null) {
                return CompletableFuture.failedFuture(closedCause);
            }
            if (waitersAppliedIndex >= index) {
                return CompletableFuture.completedFuture(null);
            }
            return appliedWaiters.computeIfAbsent(index, i -> new CompletableFuture<>());
        }
    }

    private void signalApplied(long index) {
        List<CompletableFuture<Void>> ready;
        synchronized (appliedWaiters) {
            waitersAppliedIndex = Math.max(waitersAppliedIndex, index);
            Map<Long, CompletableFuture<Void>> head = appliedWaiters.headMap(waitersAppliedIndex, true);
            if (head.isEmpty()) {
                return;
            }
            ready = new ArrayList<>(head.values());
            head.clear();
        }
        ready.forEach(f -> f.complete(null));
    }

    /** Fails every waiter, now and later; the log is closing. */
    void failWaiters(Exception cause) {
        Collection<CompletableFuture<Void>> failed;
        synchronized (appliedWaiters) {
            closedCause = cause;
            failed = new ArrayList<>(appliedWaiters.values());
            appliedWaiters.clear();
        }
        failed.forEach(f -> f.completeExceptionally(cause));
    }

    long appliedIndex() {
        TermIndex last = getLastAppliedTermIndex();
        return last == null ? RaftLog.INVALID_LOG_INDEX : last.getIndex();
    }

    long entriesApplied() {
        return entriesApplied;
    }

    long entriesFencedOut() {
        return entriesFencedOut;
    }

    long snapshotsTaken() {
        return snapshotsTaken;
    }

    long snapshotsLoaded() {
        return snapshotsLoaded;
    }

    /** Snapshots received from a leader and loaded (each one replaced the whole table). */
    long snapshotsInstalled() {
        return snapshotsInstalled;
    }

    // ------------------------------------------------------------------------------------------
    // leadership events

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        events.leaderChanged(newLeaderId);
    }

    @Override
    public void notifyLeaderReady() {
        events.leaderReady();
    }

    @Override
    public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
        events.notLeader();
    }
}
