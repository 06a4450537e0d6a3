package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterView(String clusterId, String nodeId, String role, String leader, long epoch,
                          List<String> peers, Long commitIndex, Long appliedIndex) {
}
