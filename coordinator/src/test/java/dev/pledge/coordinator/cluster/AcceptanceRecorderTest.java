package dev.pledge.coordinator.cluster;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto.AppendResult;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.util.Timestamp;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the leader lease counts (S3 in cluster form: a deposed leader must not decide): a follower's answer
 * renews its acknowledgement only if it accepted the append-entries. Ratis stamps the follower with the
 * request's send time for every answer, so a frozen leader's first heartbeats after SIGCONT, refused with
 * the newer term, carry the newest stamps of all; counted, they renewed a deposed leader's lease (seen in CI).
 * The Ratis objects around the recorder are minimal stand-ins that answer what Ratis' appender would.
 */
class AcceptanceRecorderTest {
    private final RaftPeerId followerId = RaftPeerId.valueOf("n2");
    /** The send time Ratis stamped on the follower for the answer being handled. */
    private final AtomicReference<Timestamp> stamped = new AtomicReference<>();
    private final List<AppendEntriesReplyProto> delegated = new ArrayList<>();
    private final Map<RaftPeerId, Timestamp> accepted = new ConcurrentHashMap<>();
    private final SnapshotFallbackRpcType.AcceptanceRecorder recorder =
            new SnapshotFallbackRpcType.AcceptanceRecorder(leaderState(), accepted);
    private final LogAppender appender = appender();

    @Test
    void onlyAcceptedAppendEntriesRenewTheAcknowledgementAndEveryAnswerStillReachesRatis() {
        Timestamp sentBeforeFreeze = Timestamp.currentTime().addTimeMs(-6_000);
        answer(sentBeforeFreeze, AppendResult.SUCCESS);
        assertThat(accepted).containsEntry(followerId, sentBeforeFreeze);

        Timestamp sentAfterSigcont = Timestamp.currentTime();
        answer(sentAfterSigcont, AppendResult.NOT_LEADER);
        answer(sentAfterSigcont, AppendResult.INCONSISTENCY);
        assertThat(accepted).as("refusals leave the last acceptance as it was").containsEntry(followerId, sentBeforeFreeze);

        Timestamp later = Timestamp.currentTime();
        answer(later, AppendResult.SUCCESS);
        assertThat(accepted).containsEntry(followerId, later);
        assertThat(delegated).extracting(AppendEntriesReplyProto::getResult).containsExactly(AppendResult.SUCCESS,
                AppendResult.NOT_LEADER, AppendResult.INCONSISTENCY, AppendResult.SUCCESS);
    }

    private void answer(Timestamp requestSendTime, AppendResult result) {
        stamped.set(requestSendTime);
        recorder.onAppendEntriesReply(appender, AppendEntriesReplyProto.newBuilder().setResult(result).build());
    }

    private LeaderState leaderState() {
        return (LeaderState) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {LeaderState.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("onAppendEntriesReply")) {
                        delegated.add((AppendEntriesReplyProto) args[1]);
                        return null;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private LogAppender appender() {
        FollowerInfo follower = (FollowerInfo) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {FollowerInfo.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getId" -> followerId;
                    case "getLastRespondedAppendEntriesSendTime" -> stamped.get();
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        return (LogAppender) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {LogAppender.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getFollower")) {
                        return follower;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }
}
