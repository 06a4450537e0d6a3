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
 * {@code POST /api/v1/admin/cluster/members} (OPERATOR): replaces the Raft group's membership, e.g.
 * to swap a failed node for a new one (docs/operations.md). Body:
 * {@code {"peers": "n1@host:port@http://api,n2@...,n4@..."}} with the same syntax as pledge.cluster.peers.
 */
@RestController
public class ClusterAdminController {
    private final Leadership leadership;

    public ClusterAdminController(Leadership leadership) {
        this.leadership = leadership;
    }

    public record MembersRequest(String peers) {
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
