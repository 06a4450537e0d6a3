package dev.pledge.coordinator.participant;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Participant calls start no threads. On a machine with two CPUs the JDK sizes the common pool to one thread and
 * {@code CompletableFuture} then runs each async action on a new thread; the JDK HttpClient does that for every
 * answer, so each prepare and phase-2 call started a thread (a 10,000-transaction recovery started 19,700 and took
 * 7-13 s for phase 2; 0.9 s once fixed). The coordinator JVM here is told it has two CPUs, whatever this machine
 * has, and the count comes from its own metric, {@code jvm.threads.started}.
 */
class ParticipantCallThreadsIT {
    private static final String TOKEN = "threads-test-token";
    private static final int TRANSACTIONS = 200;

    @TempDir
    Path tmp;

    @Test
    void prepareAndCommitCallsToParticipantsStartNoThreadOfTheirOwn() throws Exception {
        try (FakeParticipant a = new FakeParticipant("a"); FakeParticipant b = new FakeParticipant("b");
             CoordinatorProcess coordinator = CoordinatorProcess.start(CoordinatorProcess.jar(),
                     List.of("-XX:ActiveProcessorCount=2"), tmp.resolve("data"), CoordinatorProcess.freePort(), "threads",
                     TOKEN, List.of())) {
            coordinator.awaitReady(Duration.ofSeconds(60));
            ApiClient api = new ApiClient(coordinator.baseUrl(), TOKEN);
            commitOne(api, a, b, "warm-up"); // pools, connections and lazy singletons start their threads here
            double before = threadsStarted(api);

            for (int i = 0; i < TRANSACTIONS; i++) {
                commitOne(api, a, b, "tx " + i);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> a.committedCount() == TRANSACTIONS + 1
                    && b.committedCount() == TRANSACTIONS + 1);
            double started = threadsStarted(api) - before;
            System.out.printf("[ParticipantCallThreadsIT] %d transactions, %d participant calls: %.0f threads started%n",
                    TRANSACTIONS, 4 * TRANSACTIONS, started);

            // 4 calls per transaction: 800 threads before the fix; a few for pools that grow under load after it
            assertThat(started).as("threads the coordinator started for %d transactions (%d participant calls)",
                    TRANSACTIONS, 4 * TRANSACTIONS).isLessThan(TRANSACTIONS / 4.0);
        }
    }

    private static void commitOne(ApiClient api, FakeParticipant a, FakeParticipant b, String what) {
        String txid = api.begin(30_000);
        api.registerActive(txid, "a:1", "ra", a.callbackUrl());
        api.registerActive(txid, "b:1", "rb", b.callbackUrl());
        assertThat(api.commit(txid).field("outcome")).as(what).isEqualTo("COMMITTED");
    }

    private static double threadsStarted(ApiClient api) {
        ApiClient.Response r = api.get("/actuator/metrics/jvm.threads.started");
        assertThat(r.status()).as("GET /actuator/metrics/jvm.threads.started: %s", r.body()).isEqualTo(200);
        return r.json().get("measurements").get(0).get("value").asDouble();
    }
}
