package dev.pledge.testkit.bench;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorLaunch;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.FakeParticipant;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Restart with N COMMIT-recorded transactions whose branches are still prepared: how long until the
 * restarted coordinator has finished phase 2 of all of them?
 *
 * <p>Two participants (real HTTP servers in this JVM, which outlives the coordinator) refuse phase 2
 * while the load runs, so every transaction stays COMMITTING with both branches prepared. The
 * coordinator JVM is then SIGKILLed, the participants start answering, the coordinator is started
 * again on the same data dir, and the clock runs from that start until every branch is committed at
 * the participants and the coordinator reports nothing in doubt.
 *
 * <p>The coordinator runs from Spring Boot's extracted layout with a class-data-sharing archive (trained by
 * one start before the load; {@link CoordinatorLaunch}), as docs/operations.md recommends where restart time
 * matters; {@code --plain} starts the repackaged jar instead. The stand-in participants answer with
 * TCP_NODELAY ({@link FakeParticipant}), as Tomcat does for the SDK.
 * Last line: {@code RESULT pending=<n> seconds=<s>}.
 */
public final class RecoveryBench {
    private static final String TOKEN = "recovery-bench";

    public static void main(String[] args) throws Exception {
        List<String> params = List.of(args);
        boolean plain = params.contains("--plain");
        int pending = params.stream().filter(a -> !a.startsWith("--")).findFirst().map(Integer::parseInt).orElse(10_000);
        int clients = 16;
        Path dir = Files.createTempDirectory("pledge-recovery-bench");
        Path data = dir.resolve("data");
        int port = CoordinatorProcess.freePort();
        CoordinatorLaunch launch = plain ? CoordinatorLaunch.plain(CoordinatorProcess.jar(), "--plain")
                : CoordinatorLaunch.prepare(CoordinatorProcess.jar(), dir.resolve("launch"), List.of(), TOKEN);
        // JVM options as the tests start coordinators (C1 only, serial GC: CoordinatorProcess); a run with
        // both JIT tiers restarted slower here (C2 compiling during the few seconds measured).
        System.out.println("coordinator: " + launch.note());
        try (FakeParticipant a = new FakeParticipant("a"); FakeParticipant b = new FakeParticipant("b")) {
            a.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            b.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            List<String> opts = List.of("--pledge.phase-two.initial-backoff=30s", "--pledge.phase-two.max-backoff=60s");
            long loadStart = System.nanoTime();
            try (CoordinatorProcess first = launch.start(data, port, "rb", TOKEN, opts)) {
                first.awaitReady(Duration.ofSeconds(120));
                ApiClient api = new ApiClient(first.baseUrl(), TOKEN);
                AtomicInteger next = new AtomicInteger();
                AtomicInteger committed = new AtomicInteger();
                ExecutorService pool = Executors.newFixedThreadPool(clients);
                for (int c = 0; c < clients; c++) {
                    pool.execute(() -> {
                        while (next.getAndIncrement() < pending) {
                            String txid = api.begin(60_000);
                            api.registerActive(txid, "a:1", "ra", a.callbackUrl());
                            api.registerActive(txid, "b:1", "rb", b.callbackUrl());
                            if ("COMMITTED".equals(api.commit(txid).field("outcome"))) {
                                committed.incrementAndGet();
                            }
                        }
                    });
                }
                pool.shutdown();
                if (!pool.awaitTermination(30, TimeUnit.MINUTES)) {
                    throw new IllegalStateException("load did not finish");
                }
                System.out.printf("loaded %d COMMIT-recorded transactions (branches prepared, phase 2 refused) in %.1f s%n",
                        committed.get(), (System.nanoTime() - loadStart) / 1e9);
                first.kill();
            }
            a.failNextPhaseTwoCalls(0);
            b.failNextPhaseTwoCalls(0);
            int expected = pending;
            long restart = System.nanoTime();
            try (CoordinatorProcess second = launch.start(data, port, "rb", TOKEN, List.of())) {
                second.awaitReady(Duration.ofSeconds(120));
                double ready = (System.nanoTime() - restart) / 1e9;
                while (a.committedCount() < expected || b.committedCount() < expected) {
                    if (System.nanoTime() - restart > TimeUnit.MINUTES.toNanos(5)) {
                        throw new IllegalStateException("phase 2 not finished after 5 minutes: a=" + a.committedCount()
                                + " b=" + b.committedCount());
                    }
                    Thread.sleep(20);
                }
                double done = (System.nanoTime() - restart) / 1e9;
                ApiClient api = new ApiClient(second.baseUrl(), TOKEN);
                long inDoubt;
                long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                do {
                    inDoubt = api.get("/api/v1/in-doubt").json().size();
                } while (inDoubt > 0 && System.nanoTime() < waitUntil);
                double settled = (System.nanoTime() - restart) / 1e9;
                System.out.printf("restart: JVM start to ready %.2f s; every branch committed at %.2f s; in-doubt empty at %.2f s%n",
                        ready, done, settled);
                System.out.printf("RESULT pending=%d seconds=%.2f%n", expected, settled);
            }
        }
    }
}
