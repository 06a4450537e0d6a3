package dev.pledge.coordinator.api;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.LogFaults;
import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The decision log's disk fails at the commit point: the API answers 503 outcome-unknown with
 * Retry-After, naming the txid; nothing is committed or rolled back anywhere (S2).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class LogFailureApiTest {
    private static final String TOKEN = "log-failure-token";

    @LocalServerPort
    int port;
    @Autowired
    DecisionLog decisionLog;

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) {
        r.add("pledge.data-dir", () -> {
            try {
                return Files.createTempDirectory("pledge-log-failure").toString();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        r.add("pledge.cluster-id", () -> "lf");
        r.add("pledge.security.bootstrap-token", () -> TOKEN);
        r.add("pledge.transaction.default-timeout", () -> "2s");
    }

    @Test
    void aCommitWhoseRecordCannotBeWrittenAnswersOutcomeUnknownAndChangesNothing() throws Exception {
        ApiClient api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        try (FakeParticipant a = new FakeParticipant("a"); FakeParticipant b = new FakeParticipant("b")) {
            String txid = api.begin(2_000);
            api.registerActive(txid, "a:1", "ra", a.callbackUrl());
            api.registerActive(txid, "b:1", "rb", b.callbackUrl());
            LogFaults.failForces(decisionLog, "injected: No space left on device");

            ApiClient.Response r = api.commit(txid);
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.contentType()).startsWith("application/problem+json");
            assertThat(r.field("type")).isEqualTo("https://pledge.dev/problems/outcome-unknown");
            assertThat(r.field("txid")).isEqualTo(txid);
            assertThat(r.field("detail")).contains(txid).contains("repeat the commit");
            assertThat(r.raw().headers().firstValue("Retry-After")).isPresent();

            // asking again does not turn the unknown into an abort, not even after the deadline
            Thread.sleep(2_500);
            assertThat(api.commit(txid).status()).isEqualTo(503);
            assertThat(api.state(txid)).isEqualTo("PREPARING");
            assertThat(a.calls(txid)).extracting(FakeParticipant.Call::kind).containsExactly("prepare");
            assertThat(b.calls(txid)).extracting(FakeParticipant.Call::kind).containsExactly("prepare");
            assertThat(a.state(txid, "a:1")).isEqualTo(FakeParticipant.Branch.PREPARED);

            ApiClient.Response health = api.get("/actuator/health");
            assertThat(health.body()).contains("decisionLog").contains("DOWN");
        }
    }
}
