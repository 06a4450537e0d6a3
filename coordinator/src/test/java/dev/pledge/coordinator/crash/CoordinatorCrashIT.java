package dev.pledge.coordinator.crash;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The coordinator as a separate JVM under a concurrent commit workload against two participants,
 * SIGKILLed while one transaction stands at a named failpoint, then restarted on the same data
 * dir. Afterwards every transaction whose COMMIT record reached the log has committed at every
 * participant, and no other transaction has committed anywhere.
 */
class CoordinatorCrashIT {
    private static final String TOKEN = "crash-test-token";
    /** Failpoints after the commit point: the paused transaction must end committed everywhere. */
    private static final Set<String> AFTER_COMMIT_POINT = Set.of("coordinator.after-commit-append",
            "coordinator.before-reply", "coordinator.between-branch-commits", "coordinator.before-completed");

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"coordinator.before-prepare", "coordinator.after-prepare", "coordinator.before-commit-append",
            "coordinator.after-commit-append", "coordinator.before-reply", "coordinator.between-branch-commits",
            "coordinator.before-completed"})
    void everyCommitRecordedTransactionCompletesAfterSigkillAtFailpoint(String failpoint) throws Exception {
        Path data = tmp.resolve("data");
        int port = CoordinatorProcess.freePort();
        Map<String, String> seenByClients = new ConcurrentHashMap<>();
        Set<String> begun = ConcurrentHashMap.newKeySet();
        try (FakeParticipant a = new FakeParticipant("a"); FakeParticipant b = new FakeParticipant("b")) {
            a.requireToken(TOKEN);
            b.requireToken(TOKEN);
            CoordinatorProcess.FailpointHit hit;
            try (CoordinatorProcess first = CoordinatorProcess.start(data, port, "crash", TOKEN, List.of(
                    "--pledge.failpoint.name=" + failpoint, "--pledge.failpoint.action=PAUSE",
                    "--pledge.failpoint.skip=20"))) {
                first.awaitReady(Duration.ofSeconds(60));
                ApiClient api = new ApiClient(first.baseUrl(), TOKEN);
                AtomicBoolean stop = new AtomicBoolean();
                ExecutorService clients = Executors.newFixedThreadPool(4);
                for (int c = 0; c < 4; c++) {
                    clients.execute(() -> {
                        while (!stop.get()) {
                            try {
                                String txid = api.begin(30_000);
                                begun.add(txid);
                                api.registerActive(txid, "a:1", "ra", a.callbackUrl());
                                api.registerActive(txid, "b:1", "rb", b.callbackUrl());
                                ApiClient.Response r = api.commit(txid);
                                if (r.status() == 200) {
                                    seenByClients.put(txid, r.field("outcome"));
                                }
                            } catch (RuntimeException e) {
                                // the coordinator died under us: that is the point
                            }
                        }
                    });
                }
                hit = first.awaitFailpoint(Duration.ofSeconds(60));
                first.kill();
                stop.set(true);
                clients.shutdown();
                assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(hit.name()).isEqualTo(failpoint);
            assertThat(hit.txid()).isNotNull();

            try (CoordinatorProcess second = CoordinatorProcess.start(data, port, "crash", TOKEN, List.of())) {
                second.awaitReady(Duration.ofSeconds(60));
                ApiClient api = new ApiClient(second.baseUrl(), TOKEN);
                // quiescence: every transaction reaches a final state
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                        begun.stream().allMatch(t -> Set.of("COMMITTED", "ABORTED").contains(api.state(t))));
                List<String> violations = new ArrayList<>();
                for (String txid : begun) {
                    String state = api.state(txid);
                    boolean atA = a.state(txid, "a:1") == FakeParticipant.Branch.COMMITTED;
                    boolean atB = b.state(txid, "b:1") == FakeParticipant.Branch.COMMITTED;
                    if (state.equals("COMMITTED") && !(atA && atB)) {
                        violations.add(txid + " COMMITTED but committed at a=" + atA + " b=" + atB);
                    }
                    if (state.equals("ABORTED") && (atA || atB)) {
                        violations.add(txid + " ABORTED but committed at a=" + atA + " b=" + atB);
                    }
                    if ("COMMITTED".equals(seenByClients.get(txid)) && !state.equals("COMMITTED")) {
                        violations.add(txid + " was reported COMMITTED to its client but is " + state);
                    }
                }
                assertThat(violations).as("violations after SIGKILL at " + failpoint).isEmpty();
                String expected = AFTER_COMMIT_POINT.contains(failpoint) ? "COMMITTED" : "ABORTED";
                assertThat(api.state(hit.txid())).as("transaction paused at " + failpoint).isEqualTo(expected);
                assertThat(seenByClients).as("some transactions committed before the kill").containsValue("COMMITTED");
            }
        }
    }
}
