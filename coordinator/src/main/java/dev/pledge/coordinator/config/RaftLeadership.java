package dev.pledge.coordinator.config;

import dev.pledge.coordinator.api.Leadership;
import dev.pledge.coordinator.cluster.RaftDecisionLog;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Leadership of a Raft member, read from Ratis; API URLs come from {@code pledge.cluster.peers}. */
final class RaftLeadership implements Leadership {
    private final RaftDecisionLog raft;
    private final Map<String, String> apiUrls = new java.util.concurrent.ConcurrentHashMap<>();

    RaftLeadership(RaftDecisionLog raft, List<PledgeProperties.Cluster.Member> members) {
        this.raft = raft;
        members.forEach(m -> apiUrls.put(m.id(), m.apiUrl()));
    }

    /** Membership change (replacing a failed node): new Raft configuration, then the API URLs it names. */
    void setMembers(List<PledgeProperties.Cluster.Member> members) throws java.io.IOException {
        raft.setConfiguration(members.stream().map(m -> RaftDecisionLog.Peer.of(m.id(), m.raftAddress())).toList());
        members.forEach(m -> apiUrls.put(m.id(), m.apiUrl()));
    }

    /** Planned maintenance: hands leadership to {@code nodeId}; blocks until it leads or the timeout passes. */
    void transferLeadership(String nodeId, java.time.Duration timeout) throws java.io.IOException {
        raft.transferLeadership(nodeId, timeout);
    }

    /** The ids of the group's current members. */
    List<String> memberIds() {
        return raft.peers().stream().map(RaftDecisionLog.Peer::id).toList();
    }

    @Override
    public String role() {
        if (raft.isLeader()) {
            return "LEADER";
        }
        return raft.leaderId().isPresent() ? "FOLLOWER" : "CANDIDATE";
    }

    @Override
    public Optional<String> leaderApiUrl() {
        return raft.leaderId().map(apiUrls::get);
    }

    @Override
    public long term() {
        return raft.currentTerm();
    }

    @Override
    public List<String> peers() {
        return raft.peers().stream().map(p -> p.id() + "@" + p.address() + "@" + apiUrls.getOrDefault(p.id(), "?")).toList();
    }

    @Override
    public Long commitIndex() {
        return raft.commitIndex();
    }

    @Override
    public Long appliedIndex() {
        return raft.appliedIndex();
    }

    @Override
    public boolean replicated() {
        return true;
    }
}
