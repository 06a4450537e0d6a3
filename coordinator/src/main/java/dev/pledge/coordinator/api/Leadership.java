package dev.pledge.coordinator.api;

import java.util.List;
import java.util.Optional;

/** Who leads, as the API needs it for redirects and {@code GET /api/v1/cluster}. */
public interface Leadership {

    /** SINGLE, LEADER, FOLLOWER or CANDIDATE. */
    String role();

    /** The leader's API base URL, when one is known. */
    Optional<String> leaderApiUrl();

    long term();

    List<String> peers();

    /** Raft commit and applied index; null on a single node. */
    Long commitIndex();

    Long appliedIndex();

    boolean replicated();
}
