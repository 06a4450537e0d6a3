package dev.pledge.coordinator.config;

import dev.pledge.coordinator.api.ApiException;
import dev.pledge.coordinator.api.Leadership;
import dev.pledge.protocol.ProblemTypes;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;
import java.util.Map;

/**
 * Cluster maintenance (OPERATOR, docs/operations.md):
 * <ul>
 * <li>{@code POST /api/v1/admin/cluster/members} replaces the Raft group's membership, e.g. to swap a failed
 * node for a new one. Body: {@code {"peers": "n1@host:port@http://api,n2@...,n4@..."}} with the same syntax as
 * pledge.cluster.peers.</li>
 * <li>{@code POST /api/v1/admin/cluster/leader} hands leadership to a member, e.g. before stopping the leader
 * for maintenance. Body: {@code {"nodeId": "n2"}}; answers once that node leads.</li>
 * </ul>
 */
@RestController
public class ClusterAdminController {
    private final Leadership leadership;

    public ClusterAdminController(Leadership leadership) {
        this.leadership = leadership;
    }

    public record MembersRequest(String peers) {
    }

    public record LeaderRequest(String nodeId) {
    }

    /** Long enough for the target to catch up and win its election on a loaded machine. */
    private static final java.time.Duration TRANSFER_TIMEOUT = java.time.Duration.ofSeconds(10);

    @PostMapping(path = "/api/v1/admin/cluster/leader", produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, Object> transferLeadership(@RequestBody LeaderRequest request) {
        if (!(leadership instanceof RaftLeadership raft)) {
            throw new ApiException(HttpStatus.CONFLICT, ProblemTypes.MALFORMED_REQUEST, "Not a cluster",
                    "this coordinator runs as a single node (pledge.cluster.mode=single): there is no leadership to move");
        }
        String nodeId = request == null ? null : request.nodeId();
        List<String> members = raft.memberIds();
        if (nodeId == null || !members.contains(nodeId)) {
            throw new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request",
                    "nodeId " + nodeId + " is not a member of the group; send {\"nodeId\": \"<id>\"} with one of "
                            + members);
        }
        try {
            raft.transferLeadership(nodeId, TRANSFER_TIMEOUT);
        } catch (java.io.IOException | RuntimeException e) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.NO_LEADER,
                    "Leadership not transferred", "node " + nodeId + " did not become leader within "
                    + TRANSFER_TIMEOUT.toSeconds() + " s (" + e.getMessage() + "); check that it runs and has caught"
                    + " up (appliedIndex in GET /api/v1/cluster), then retry");
        }
        return Map.of("leader", nodeId, "term", leadership.term());
    }

    @PostMapping(path = "/api/v1/admin/cluster/members", produces = MediaType.APPLICATION_JSON_VALUE)
    public Map<String, Object> setMembers(@RequestBody MembersRequest request) throws Exception {
        if (!(leadership instanceof RaftLeadership raft)) {
            throw new ApiException(HttpStatus.CONFLICT, ProblemTypes.MALFORMED_REQUEST, "Not a cluster",
                    "this coordinator runs as a single node (pledge.cluster.mode=single): there is no membership to change");
        }
        List<PledgeProperties.Cluster.Member> members;
        try {
            members = new PledgeProperties.Cluster("raft", request == null || request.peers() == null ? "" : request.peers(),
                    java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(2), 1, java.time.Duration.ofSeconds(1), false).members();
        } catch (IllegalArgumentException e) {
            throw new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request",
                    e.getMessage().replace("pledge.cluster.", "") + "; send {\"peers\": \"id@raftHost:raftPort@apiUrl,...\"}");
        }
        if (members.size() < 1) {
            throw new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request",
                    "the new membership is empty; list every member, old and new");
        }
        raft.setMembers(members);
        return Map.of("peers", leadership.peers(), "leader", leadership.leaderApiUrl().orElse(""));
    }
}
