package dev.pledge.sdk.client;

import dev.pledge.protocol.BeginResponse;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.ProblemTypes;
import dev.pledge.sdk.StandInCoordinator;
import dev.pledge.sdk.StandInCoordinator.Answer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client's protocol behaviours against a scripted coordinator stand-in. */
class CoordinatorClientTest {
    static StandInCoordinator leader;
    static StandInCoordinator follower;

    @BeforeAll
    static void start() throws Exception {
        leader = new StandInCoordinator();
        follower = new StandInCoordinator();
    }

    @AfterAll
    static void stop() {
        leader.close();
        follower.close();
    }

    @BeforeEach
    void clean() {
        leader.reset();
        follower.reset();
    }

    private static CoordinatorClient.Builder client(String url) {
        return CoordinatorClient.builder().url(url).token("s3cret")
                .initialBackoff(Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(50))
                .maxRetryTime(Duration.ofSeconds(3));
    }

    @Test
    void followsTheLeaderRedirectAndCachesTheLeader() {
        follower.always("POST", "/api/v1/.*", r -> new Answer(307, Map.of("Pledge-Leader", leader.url(),
                "Location", leader.url() + r.path()), null));
        CoordinatorClient client = client(follower.url()).build();

        BeginResponse first = client.begin(Duration.ofSeconds(5), "transfer");
        BeginResponse second = client.begin(null, null);

        assertThat(first.txid()).startsWith("test:1:");
        assertThat(second.txid()).isNotEqualTo(first.txid());
        assertThat(follower.requests()).hasSize(1);
        assertThat(leader.requests("POST", "/api/v1/transactions")).hasSize(2);
        assertThat(client.currentNode()).isEqualTo(URI.create(leader.url()));
        assertThat(leader.requests().get(0).json().get("timeoutMs").asLong()).isEqualTo(5000);
        assertThat(leader.requests().get(0).json().get("label").asString()).isEqualTo("transfer");
        assertThat(leader.requests().get(0).header("Authorization")).isEqualTo("Bearer s3cret");
    }

    @Test
    void derivesTheLeaderFromLocationWhenThereIsNoPledgeLeaderHeader() {
        follower.always("POST", "/api/v1/.*", r -> new Answer(307, Map.of("Location", leader.url() + r.path()), null));
        CoordinatorClient client = client(follower.url()).build();

        client.rollback("test:1:7");

        assertThat(leader.requests("POST", "/api/v1/transactions/test:1:7/rollback")).hasSize(1);
        assertThat(client.currentNode()).isEqualTo(URI.create(leader.url()));
    }

    @Test
    void retriesA503AfterItsRetryAfter() {
        leader.next("POST", "/api/v1/transactions", Answer.problem(503, "no-leader", "no leader known yet", null,
                Map.of("Retry-After", "1")));
        CoordinatorClient client = client(leader.url()).build();

        long started = System.nanoTime();
        BeginResponse begun = client.begin(null, null);
        long elapsedMs = Duration.ofNanos(System.nanoTime() - started).toMillis();

        assertThat(begun.txid()).isNotBlank();
        assertThat(leader.requests("POST", "/api/v1/transactions")).hasSize(2);
        assertThat(elapsedMs).isGreaterThanOrEqualTo(950);
    }

    @Test
    void givesUpOnRepeatedOutcomeUnknownWithinTheRetryBudget() {
        leader.always("POST", ".*/commit", r -> Answer.outcomeUnknown(StandInCoordinator.txidOf(r.path())));
        CoordinatorClient client = client(leader.url()).maxRetryTime(Duration.ofMillis(300)).build();

        long started = System.nanoTime();
        assertThatThrownBy(() -> client.commit("test:1:9",
                List.of(new BranchRegistration("db:a:1", "db", BranchState.PREPARED, null)), false))
                .isInstanceOfSatisfying(OutcomeUnknownException.class, e -> {
                    assertThat(e.txid()).isEqualTo("test:1:9");
                    assertThat(e.status()).isEqualTo(503);
                    assertThat(e.type()).isEqualTo(ProblemTypes.OUTCOME_UNKNOWN);
                    assertThat(e.getMessage()).contains("gave up after");
                });
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
        assertThat(leader.requests("POST", ".*/commit").size()).isGreaterThan(1);
        assertThat(leader.requests().get(0).json().get("branches").get(0).get("state").asString()).isEqualTo("PREPARED");
        assertThat(leader.requests().get(0).json().get("branches").get(0).has("callbackUrl")).isFalse();
        assertThat(leader.requests().get(0).json().get("wait").asString()).isEqualTo("decision");
    }

    @Test
    void turnsProblemsIntoTypedExceptions() {
        leader.next("POST", ".*/rollback", new Answer(409, Map.of("Content-Type", "application/problem+json"),
                "{\"type\":\"https://pledge.dev/problems/transaction-committed\",\"status\":409,"
                        + "\"detail\":\"transaction test:1:3 is already committed\",\"txid\":\"test:1:3\",\"state\":\"COMMITTED\"}"));
        leader.next("GET", ".*", Answer.problem(401, "unauthorized", "bad token", null, Map.of()));
        CoordinatorClient client = client(leader.url()).build();

        assertThatThrownBy(() -> client.rollback("test:1:3")).isInstanceOfSatisfying(TransactionCommittedException.class, e -> {
            assertThat(e.txid()).isEqualTo("test:1:3");
            assertThat(e.state()).isEqualTo("COMMITTED");
            assertThat(e.detail()).contains("already committed");
            assertThat(e.isRefusal()).isFalse();
        });
        assertThatThrownBy(() -> client.get("test:1:3")).isInstanceOfSatisfying(CoordinatorAuthenticationException.class,
                e -> assertThat(e.isRefusal()).isTrue());
        assertThat(leader.requests()).hasSize(2); // refusals are not retried
    }

    @Test
    void movesToTheNextNodeWhenOneRefusesConnections() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        CoordinatorClient client = client("http://127.0.0.1:" + closedPort + "," + leader.url()).build();

        assertThat(client.commit("test:1:4", List.of(), false).outcome()).isEqualTo(Outcome.COMMITTED);
        assertThat(client.currentNode()).isEqualTo(URI.create(leader.url()));
    }

    @Test
    void listsResourcesOrSaysItCannotWhenTheEndpointIsMissing() {
        CoordinatorClient client = client(leader.url()).build();
        assertThat(client.resources()).isEqualTo(Optional.empty());

        leader.next("GET", "/api/v1/resources", Answer.json(200, "[{\"name\":\"orders-db\",\"type\":\"postgresql\"},"
                + "{\"name\":\"broker\"}]"));
        assertThat(client.resources()).contains(Set.of("orders-db", "broker"));
    }

    @Test
    void batchesCompletionsAndFallsBackWhenTheBatchEndpointIsMissing() {
        CoordinatorClient client = client(leader.url()).build();
        client.reportCompletions(List.of(new CoordinatorClient.Completion("test:1:5", "db:a:1", BranchState.COMMITTED),
                new CoordinatorClient.Completion("test:1:5", "mq:a:2", BranchState.COMMITTED)));
        assertThat(leader.requests("POST", "/api/v1/completions")).hasSize(1);
        assertThat(leader.requests().get(0).json().size()).isEqualTo(2);

        leader.reset();
        leader.next("POST", "/api/v1/completions", Answer.problem(404, "not-found", "no endpoint", null, Map.of()));
        client.reportCompletions(List.of(new CoordinatorClient.Completion("test:1:6", "db:a:1", BranchState.ROLLED_BACK)));
        assertThat(leader.requests("POST", "/api/v1/transactions/test:1:6/branches/db:a:1/completed")).hasSize(1);
    }
}
