package dev.pledge.coordinator.resources;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.testkit.FakeParticipant;
import dev.pledge.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A resource is unreachable for a minute during phase 2 (the coordinator reaches PostgreSQL through
 * a proxy that resets every connection meanwhile): the branch keeps retrying, is shown in doubt
 * with its attempts and last error, and commits as soon as the database is back.
 * {@code -Dpledge.test.outage=10s} shortens the outage for local runs.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ResourceOutageTest {
    private static final String TOKEN = "outage-token";
    private static final EmbeddedPostgresServer PG = EmbeddedPostgresServer.start();
    private static final TcpProxy PROXY = new TcpProxy(PG.port());
    private static final Duration OUTAGE = Duration.parse("PT" + System.getProperty("pledge.test.outage", "60s").toUpperCase());

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws Exception {
        r.add("pledge.data-dir", () -> {
            try {
                return Files.createTempDirectory("pledge-outage").toString();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        r.add("pledge.cluster-id", () -> "out");
        r.add("pledge.security.bootstrap-token", () -> TOKEN);
        r.add("pledge.resources.orders.type", () -> "postgresql");
        r.add("pledge.resources.orders.url", () -> PG.jdbcUrl(PROXY.port()));
        r.add("pledge.resources.orders.user", () -> EmbeddedPostgresServer.USER);
        r.add("pledge.participant.completion-grace", () -> "200ms");
        r.add("pledge.participant.call-timeout", () -> "2s");
        r.add("pledge.phase-two.initial-backoff", () -> "100ms");
        r.add("pledge.phase-two.max-backoff", () -> "2s");
        r.add("pledge.recovery.scan-interval", () -> "1h");
        OrdersTable.create(PG);
    }

    @AfterAll
    static void stop() throws Exception {
        PROXY.close();
        PG.close();
    }

    @Test
    void phaseTwoRetriesThroughAnOutageAndCompletesWhenTheResourceReturns() throws Exception {
        ApiClient api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        try (FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            OrdersTable.prepareInsert(PG, txid, "orders:app:1", "o-outage");
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            PROXY.setDown(true);
            String body = "{\"branches\":[{\"branchId\":\"orders:app:1\",\"resource\":\"orders\",\"state\":\"PREPARED\"}]}";
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", body).field("outcome")).isEqualTo("COMMITTED");

            Thread.sleep(OUTAGE.toMillis());
            JsonNode branch = branch(api, txid, "orders:app:1");
            assertThat(branch.get("state").asString()).isEqualTo("FAILED_RETRYING");
            assertThat(branch.get("attempts").asInt()).isGreaterThan(3);
            assertThat(branch.get("lastError").asString()).contains("orders");
            assertThat(branch.get("nextAttemptAt")).isNotNull();
            assertThat(api.get("/api/v1/in-doubt").body()).contains(txid);
            assertThat(OrdersTable.rowExists(PG, "o-outage")).isFalse();

            PROXY.setDown(false);
            await().atMost(Duration.ofSeconds(20)).until(() -> "COMMITTED".equals(api.state(txid)));
            assertThat(OrdersTable.rowExists(PG, "o-outage")).isTrue();
            assertThat(OrdersTable.preparedCount(PG)).isZero();
            assertThat(api.get("/api/v1/in-doubt").body()).doesNotContain(txid);
        }
    }

    private static JsonNode branch(ApiClient api, String txid, String branchId) {
        for (JsonNode b : api.get("/api/v1/transactions/" + txid).json().get("branches")) {
            if (b.get("branchId").asString().equals(branchId)) {
                return b;
            }
        }
        throw new AssertionError("no branch " + branchId);
    }
}
