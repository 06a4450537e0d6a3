package dev.pledge.coordinator.cluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import org.apache.ratis.conf.Parameters;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ratis' gRPC transport with one fix in the leader's log appender, plugged in through Ratis' own
 * extension point (an {@link RpcType} named by class; the wire protocol is plain gRPC).
 *
 * <p>The problem, in Ratis 3.2.2: after a purge, the leader's log starts at a segment boundary L. A
 * follower whose next index is exactly L (its log ends at L-1) cannot be sent entries, because the
 * leader no longer knows the term of entry L-1 (it is neither in the log nor the snapshot's
 * index), and it is not sent a snapshot either, because Ratis only does that when next index &lt; L.
 * The appender thread dies on a NullPointerException ("Previous TermIndex not found") and is never
 * restarted, so the follower stays behind until the leader changes. Segments roll at every term
 * change, so this is exactly what happens to a leader that crashes and comes back after the new
 * leader has snapshotted and purged the old term's segment (see RATIS-1707 for the history).
 *
 * <p>The fix: in that one case, install the latest snapshot on the follower (its index is at least
 * L-1, so the follower loses nothing it has not got in the snapshot), after which the follower's next
 * index is just past the snapshot and ordinary appends resume.
 */
public final class SnapshotFallbackRpcType implements RpcType {

    private static final Logger log = LoggerFactory.getLogger(SnapshotFallbackRpcType.class);
    /** Times the fallback sent a snapshot, in this JVM (all groups); for tests and diagnostics. */
    private static final AtomicLong FALLBACKS = new AtomicLong();
    /**
     * The latest leadership of each division in this JVM: for each follower, the send time of the last
     * append-entries it accepted. Ratis has no public way to read its followers from a division, and the
     * leader lease needs exactly this.
     */
    private static final Map<RaftGroupMemberId, Leadership> LEADERSHIPS = new ConcurrentHashMap<>();

    private record Leadership(LeaderState state, Map<RaftPeerId, Long> accepted) {
    }

    /** Ratis instantiates the type from its class name. */
    public SnapshotFallbackRpcType() {
    }

    @Override
    public String name() {
        return SnapshotFallbackRpcType.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
        return new Factory(parameters);
    }

    /** How many times, in this JVM, a leader sent a snapshot because of the case described above. */
    static long fallbacks() {
        return FALLBACKS.get();
    }

    /**
     * For each follower of the division's current (or last) leadership that has accepted an append-entries
     * of it, when ({@link System#nanoTime()}) the leader <em>created</em> the youngest one it accepted; empty
     * if the division never led in this JVM. Send times, so that answers delayed in a socket (a frozen leader
     * reading them after SIGCONT) cannot make an acknowledgement look newer than it is; accepted ones only,
     * because a follower's refusal with a newer term is what a deposed leader gets right after SIGCONT and
     * must not renew its lease.
     */
    static Map<RaftPeerId, Long> acceptedSendTimes(RaftGroupMemberId division) {
        Leadership current = LEADERSHIPS.get(division);
        return current == null ? Map.of() : current.accepted();
    }

    /** Forgets a division that closed. */
    static void forget(RaftGroupMemberId division) {
        LEADERSHIPS.remove(division);
    }

    static final class Factory extends GrpcFactory {
        Factory(Parameters parameters) {
            super(parameters);
        }

        @Override
        public LogAppender newLogAppender(RaftServer.Division server, LeaderState state, FollowerInfo follower) {
            Leadership leadership = LEADERSHIPS.compute(server.getMemberId(), (id, current) ->
                    current != null && current.state() == state ? current : new Leadership(state, new ConcurrentHashMap<>()));
            return new Appender(server, new AcceptanceRecorder(state, leadership.accepted()), follower);
        }
    }

    /**
     * The leader state as one appender sees it: Ratis' own, noting when each append-entries was created
     * ({@link #newAppendEntriesRequestProto}, just before Ratis sends it) and, for each answer, moving the
     * follower's acknowledgement to the creation time of the very request a SUCCESS answers (matched by call
     * id). Refusals (NOT_LEADER with a newer term, INCONSISTENCY) note nothing.
     *
     * <p>Why not the send time Ratis stamps on the follower: a follower answers on two streams (log and
     * heartbeat), each on its own thread, and the stamp is one shared field. Right after SIGCONT a deposed
     * leader handles answers that waited in its sockets (SUCCESS, sent before the freeze) while its fresh
     * heartbeats are refused; a SUCCESS thread could read the stamp a refusal had just written and renew the
     * lease (found by reading Ratis' appender, not seen in a run). Creation time is a little earlier than the
     * send, so the lease it gives is a little shorter, never longer.
     */
    static final class AcceptanceRecorder implements LeaderState {
        /** Beyond this many unanswered requests, those older than {@link #FORGET_AFTER_NANOS} are dropped. */
        private static final int PRUNE_ABOVE = 1024;
        private static final long FORGET_AFTER_NANOS = TimeUnit.SECONDS.toNanos(30);

        private final LeaderState delegate;
        private final Map<RaftPeerId, Long> accepted;
        private final LongSupplier nanoClock;
        /** Call id to creation time ({@link System#nanoTime()}) of this appender's unanswered requests. */
        private final Map<Long, Long> created = new ConcurrentHashMap<>();

        AcceptanceRecorder(LeaderState delegate, Map<RaftPeerId, Long> accepted) {
            this(delegate, accepted, System::nanoTime);
        }

        AcceptanceRecorder(LeaderState delegate, Map<RaftPeerId, Long> accepted, LongSupplier nanoClock) {
            this.delegate = delegate;
            this.accepted = accepted;
            this.nanoClock = nanoClock;
        }

        @Override
        public AppendEntriesRequestProto newAppendEntriesRequestProto(FollowerInfo follower, List<LogEntryProto> entries,
                                                                      TermIndex previous, long callId) {
            long now = nanoClock.getAsLong();
            if (created.size() > PRUNE_ABOVE) { // answers that never came (a follower down, a reset stream)
                created.values().removeIf(at -> now - at > FORGET_AFTER_NANOS);
            }
            created.put(callId, now);
            return delegate.newAppendEntriesRequestProto(follower, entries, previous, callId);
        }

        @Override
        public void onAppendEntriesReply(LogAppender appender, AppendEntriesReplyProto reply) {
            Long sentAt = created.remove(reply.getServerReply().getCallId());
            if (sentAt != null && reply.getResult() == AppendEntriesReplyProto.AppendResult.SUCCESS) {
                // the youngest acceptance wins; answers from the two streams may be handled out of order
                accepted.merge(appender.getFollower().getId(), sentAt, (was, now) -> now - was > 0 ? now : was);
            }
            delegate.onAppendEntriesReply(appender, reply);
        }

        @Override
        public void onFollowerSuccessAppendEntries(FollowerInfo follower) {
            delegate.onFollowerSuccessAppendEntries(follower);
        }

        @Override
        public void restart(LogAppender appender) {
            delegate.restart(appender);
        }

        @Override
        public void checkHealth(FollowerInfo follower) {
            delegate.checkHealth(follower);
        }

        @Override
        public boolean onFollowerTerm(FollowerInfo follower, long followerTerm) {
            return delegate.onFollowerTerm(follower, followerTerm);
        }

        @Override
        public void onFollowerCommitIndex(FollowerInfo follower, long commitIndex) {
            delegate.onFollowerCommitIndex(follower, commitIndex);
        }

        @Override
        public boolean isFollowerBootstrapping(FollowerInfo follower) {
            return delegate.isFollowerBootstrapping(follower);
        }
    }

    static final class Appender extends GrpcLogAppender {
        Appender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower) {
            super(server, leaderState, follower);
        }

        @Override
        public SnapshotInfo shouldInstallSnapshot() {
            SnapshotInfo snapshot = super.shouldInstallSnapshot();
            if (snapshot != null) {
                return snapshot;
            }
            return snapshotForFollowerAtLogStart(getFollower().getNextIndex(), getRaftLog(),
                    getServer().getStateMachine().getLatestSnapshot(), getFollower().getName());
        }
    }

    /**
     * The snapshot to send when a follower's next index is the first index of the leader's log and
     * the entry before it is gone; null in every other case (Ratis' own rules apply).
     */
    static SnapshotInfo snapshotForFollowerAtLogStart(long followerNextIndex, RaftLog raftLog, SnapshotInfo latest,
                                                      String follower) {
        long logStart = raftLog.getStartIndex();
        if (latest == null || followerNextIndex != logStart || followerNextIndex <= RaftLog.LEAST_VALID_LOG_INDEX
                || followerNextIndex >= raftLog.getNextIndex()) {
            return null;
        }
        long previous = followerNextIndex - 1;
        if (latest.getIndex() == previous || latest.getIndex() < previous || raftLog.getTermIndex(previous) != null) {
            return null;
        }
        FALLBACKS.incrementAndGet();
        log.info("{}: next index {} is the first index of the leader's log and entry {} was purged; sending snapshot"
                + " {} instead (Ratis cannot send entries without the term of the previous one)", follower,
                followerNextIndex, previous, latest.getTermIndex());
        return latest;
    }
}
