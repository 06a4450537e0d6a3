package dev.pledge.testkit;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * What {@code GET /api/v1/cluster} on one coordinator says (API.md): its role, the leader's API URL (null
 * while none is known), the term (epoch), and the Raft commit and applied index (-1 on a single node).
 */
public record ClusterView(String role, String leaderUrl, long term, long commitIndex, long appliedIndex) {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Asks the node at {@code apiUrl}; empty if it does not answer 200 within a second. */
    public static Optional<ClusterView> fetch(HttpClient http, String apiUrl, String token) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(apiUrl + "/api/v1/cluster"))
                            .timeout(Duration.ofSeconds(1)).header("Authorization", "Bearer " + token).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return Optional.empty();
            }
            JsonNode j = JSON.readTree(r.body());
            return Optional.of(new ClusterView(j.path("role").asString(),
                    j.hasNonNull("leader") ? j.get("leader").asString() : null, j.path("epoch").asLong(),
                    j.hasNonNull("commitIndex") ? j.get("commitIndex").asLong() : -1,
                    j.hasNonNull("appliedIndex") ? j.get("appliedIndex").asLong() : -1));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
