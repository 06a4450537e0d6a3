package dev.pledge.coordinator.cluster;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto.AppendResult;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.proto.RaftProtos.RaftRpcReplyProto;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the leader lease counts (S3 in cluster form: a deposed leader must not decide): a follower's answer
 * renews its acknowledgement only if it accepted the append-entries, and then only to the time the leader
 * created the very request answered. The first was broken once and let a deposed leader issue old-term txids
 * in CI (refusals counted: Ratis stamps every answer); the second was a race found by reading Ratis' appender
 * (an acceptance could pick up the stamp a concurrent refusal on the other stream had just written). The Ratis
 * objects around the recorder are minimal stand-ins that answer what Ratis' appender would; the clock is the
 * test's.
 */
class AcceptanceRecorderTest {
    private final RaftPeerId followerId = RaftPeerId.valueOf("n2");
    private final AtomicLong clock = new AtomicLong(1_000_000_000L);
    private final List<AppendEntriesReplyProto> delegated = new ArrayList<>();
    private final Map<RaftPeerId, Long> accepted = new ConcurrentHashMap<>();
    private final SnapshotFallbackRpcType.AcceptanceRecorder recorder =
            new SnapshotFallbackRpcType.AcceptanceRecorder(leaderState(), accepted, clock::get);
    private final LogAppender appender = appender();

    @Test
    void onlyAcceptedAppendEntriesRenewTheAcknowledgementAndEveryAnswerStillReachesRatis() {
        long beforeFreeze = send(1);
        answer(1, AppendResult.SUCCESS);
        assertThat(accepted).containsEntry(followerId, beforeFreeze);

        clock.addAndGet(TimeUnit.SECONDS.toNanos(6)); // frozen, then SIGCONT
        send(2);
        send(3);
        answer(2, AppendResult.NOT_LEADER);
        answer(3, AppendResult.INCONSISTENCY);
        assertThat(accepted).as("refusals leave the last acceptance as it was").containsEntry(followerId, beforeFreeze);

        long later = send(4);
        answer(4, AppendResult.SUCCESS);
        assertThat(accepted).containsEntry(followerId, later);
        assertThat(delegated).extracting(AppendEntriesReplyProto::getResult).containsExactly(AppendResult.SUCCESS,
                AppendResult.NOT_LEADER, AppendResult.INCONSISTENCY, AppendResult.SUCCESS);
    }

    @Test
    void anAcceptanceThatWaitedOutAFreezeCountsFromItsOwnRequestNotFromAFresherRefusal() {
        long beforeFreeze = send(7); // the log stream's request; its answer waits in the socket
        clock.addAndGet(TimeUnit.SECONDS.toNanos(6));
        send(8); // the first heartbeat after SIGCONT, refused with the newer term
        answer(8, AppendResult.NOT_LEADER);
        answer(7, AppendResult.SUCCESS);
        assertThat(accepted).containsEntry(followerId, beforeFreeze);
    }

    @Test
    void anOlderAcceptanceHandledLastDoesNotMoveTheAcknowledgementBack() {
        long first = send(1);
        clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(100));
        long second = send(2);
        answer(2, AppendResult.SUCCESS);
        answer(1, AppendResult.SUCCESS);
        assertThat(second).isGreaterThan(first);
        assertThat(accepted).containsEntry(followerId, second);
    }

    private long send(long callId) {
        recorder.newAppendEntriesRequestProto(null, List.of(), null, callId);
        return clock.get();
    }

    private void answer(long callId, AppendResult result) {
        recorder.onAppendEntriesReply(appender, AppendEntriesReplyProto.newBuilder().setResult(result)
                .setServerReply(RaftRpcReplyProto.newBuilder().setCallId(callId)).build());
    }

    private LeaderState leaderState() {
        return (LeaderState) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {LeaderState.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "onAppendEntriesReply" -> {
                        delegated.add((AppendEntriesReplyProto) args[1]);
                        yield null;
                    }
                    case "newAppendEntriesRequestProto" -> AppendEntriesRequestProto.getDefaultInstance();
                    default -> throw unexpected(method.getName());
                });
    }

    private LogAppender appender() {
        FollowerInfo follower = (FollowerInfo) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {FollowerInfo.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getId" -> followerId;
                    default -> throw unexpected(method.getName());
                });
        return (LogAppender) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {LogAppender.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getFollower")) {
                        return follower;
                    }
                    throw unexpected(method.getName());
                });
    }

    /** The stand-ins answer only what the recorder is expected to ask; anything else fails the test. */
    private static AssertionError unexpected(String method) {
        return new AssertionError("the acceptance recorder called " + method + ", which this test does not expect");
    }
}
