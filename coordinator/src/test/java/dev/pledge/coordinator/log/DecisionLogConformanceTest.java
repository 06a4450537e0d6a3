package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.pledge.coordinator.log.LogRecords.assertSameTable;
import static dev.pledge.coordinator.log.LogRecords.commit;
import static dev.pledge.coordinator.log.LogRecords.completed;
import static dev.pledge.coordinator.log.LogRecords.heuristic;
import static dev.pledge.coordinator.log.LogRecords.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The behaviour every {@link DecisionLog} must have, whatever stores it. An implementation's test
 * extends this class and says how to open a log on a directory; "reopen" means closing the log and
 * opening a new instance on the same directory, which is what a coordinator restart does.
 */
public abstract class DecisionLogConformanceTest {

    private static final long TIMEOUT_SECONDS = 30;

    @TempDir
    protected Path dir;

    private final List<DecisionLog> opened = new ArrayList<>();

    /** Opens (creating if needed) the log stored under {@code dir} and replays it; must return an open log. */
    protected abstract DecisionLog openLog(Path dir) throws IOException;

    private DecisionLog open() throws IOException {
        DecisionLog log = openLog(dir);
        opened.add(log);
        return log;
    }

    private DecisionLog reopen(DecisionLog log) throws IOException {
        log.close();
        return open();
    }

    @AfterEach
    void closeAll() throws IOException {
        for (DecisionLog log : opened) {
            log.close();
        }
    }

    private static void await(CompletableFuture<Void> append) throws Exception {
        append.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void forcedCommitIsDurableAfterReopen() throws Exception {
        DecisionLog log = open();
        await(log.append(commit("c1:1:1"), DecisionLog.Durability.FORCED));

        DecisionLog reopened = reopen(log);

        assertThat(reopened.table().isPending("c1:1:1")).isTrue();
        assertThat(reopened.table().pendingCommits()).containsExactly(commit("c1:1:1"));
    }

    @Test
    void recordIsInTheTableWhenItsAppendCompletes() throws Exception {
        DecisionLog log = open();
        CompletableFuture<Void> forced = log.append(commit("c1:1:1"), DecisionLog.Durability.FORCED);
        CompletableFuture<Void> lazy = log.append(completed("c1:1:1"), DecisionLog.Durability.LAZY);

        await(forced.thenCompose(x -> lazy));

        assertThat(log.table().isPending("c1:1:1")).isFalse();
        assertThat(log.table().wasCompleted("c1:1:1")).isTrue();
    }

    @Test
    void replayAppliesRecordsInAppendOrder() throws Exception {
        List<LogRecord> records = List.of(
                commit("c1:1:1"), commit("c1:1:2"), completed("c1:1:1"), commit("c1:1:3"),
                completed("c1:1:4"), commit("c1:1:4"),     // COMPLETED before its COMMIT: the COMMIT stays
                commit("c1:1:1"));                         // a later COMMIT for a completed txid is pending again
        DecisionLog log = open();
        for (LogRecord record : records) {
            await(log.append(record, DecisionLog.Durability.FORCED));
        }

        DecisionLog reopened = reopen(log);

        assertThat(reopened.table().pendingCommits()).extracting(LogRecord.Commit::txid)
                .containsExactly("c1:1:2", "c1:1:3", "c1:1:4", "c1:1:1");
        assertSameTable(reopened.table(), model(records));
    }

    @Test
    void completedTransactionIsNoLongerPendingButRememberedAfterReopen() throws Exception {
        DecisionLog log = open();
        await(log.append(commit("c1:1:1"), DecisionLog.Durability.FORCED));
        await(log.append(commit("c1:1:2"), DecisionLog.Durability.FORCED));
        await(log.append(completed("c1:1:1"), DecisionLog.Durability.LAZY));

        DecisionLog reopened = reopen(log);

        assertThat(reopened.table().isPending("c1:1:1")).isFalse();
        assertThat(reopened.table().wasCompleted("c1:1:1")).isTrue();
        assertThat(reopened.table().isPending("c1:1:2")).isTrue();
    }

    @Test
    void epochIsTheHighestEverAppended() throws Exception {
        DecisionLog log = open();
        for (long epoch : new long[] {3, 7, 5}) {
            await(log.append(new LogRecord.Epoch(epoch), DecisionLog.Durability.FORCED));
        }
        assertThat(log.table().epoch()).isEqualTo(7);

        assertThat(reopen(log).table().epoch()).isEqualTo(7);
    }

    @Test
    void heuristicRecordsSurviveReopenInOrder() throws Exception {
        DecisionLog log = open();
        await(log.append(heuristic("c1:1:1", "participant gone for a week"), DecisionLog.Durability.FORCED));
        await(log.append(heuristic("c1:1:1", "result: committed"), DecisionLog.Durability.FORCED));

        assertThat(reopen(log).table().heuristics()).extracting(LogRecord.Heuristic::reason)
                .containsExactly("participant gone for a week", "result: committed");
    }

    @Test
    void lazyAppendsAreDurableAfterACleanClose() throws Exception {
        DecisionLog log = open();
        await(log.append(commit("c1:1:1"), DecisionLog.Durability.FORCED));
        await(log.append(completed("c1:1:1"), DecisionLog.Durability.LAZY));
        await(log.append(heuristic("c1:1:9", "lazy"), DecisionLog.Durability.LAZY));

        DecisionLog reopened = reopen(log);

        assertThat(reopened.table().isPending("c1:1:1")).isFalse();
        assertThat(reopened.table().heuristics()).hasSize(1);
    }

    @Test
    void stateSurvivesRepeatedCloseAndReopen() throws Exception {
        List<LogRecord> all = new ArrayList<>();
        DecisionLog log = open();
        for (int round = 1; round <= 5; round++) {
            List<LogRecord> records = List.of(new LogRecord.Epoch(round), commit("c1:" + round + ":1"),
                    commit("c1:" + round + ":2"), completed("c1:" + round + ":1"),
                    heuristic("c1:" + round + ":2", "round " + round));
            for (LogRecord record : records) {
                await(log.append(record, DecisionLog.Durability.FORCED));
            }
            all.addAll(records);
            log = reopen(log);
            assertSameTable(log.table(), model(all));
        }
    }

    @Test
    void concurrentAppendersEachHaveTheirRecordExactlyOnceAfterReopen() throws Exception {
        int threads = 8;
        int perThread = 100;
        DecisionLog log = open();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String thread = "t" + t;
            workers.add(pool.submit(() -> {
                start.await();
                List<CompletableFuture<Void>> appends = new ArrayList<>();
                for (int i = 0; i < perThread; i++) {
                    DecisionLog.Durability durability = i % 3 == 0
                            ? DecisionLog.Durability.LAZY : DecisionLog.Durability.FORCED;
                    // Heuristic records land in a list, so a duplicate or a loss would show.
                    appends.add(log.append(heuristic(thread, thread + "#" + i), durability));
                    if (i % 10 == 9) {
                        CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new))
                                .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                        appends.clear();
                    }
                }
                CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                return null;
            }));
        }
        start.countDown();
        for (Future<?> worker : workers) {
            worker.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        pool.shutdown();

        List<LogRecord.Heuristic> replayed = reopen(log).table().heuristics();

        assertThat(replayed).hasSize(threads * perThread).doesNotHaveDuplicates();
        Map<String, Integer> next = new HashMap<>();
        for (LogRecord.Heuristic h : replayed) {
            int expected = next.merge(h.txid(), 1, Integer::sum) - 1;
            assertThat(h.reason()).as("records of one appender replay in its order").isEqualTo(h.txid() + "#" + expected);
        }
    }

    @Test
    void appendAfterCloseFailsAndChangesNothing() throws Exception {
        DecisionLog log = open();
        await(log.append(commit("c1:1:1"), DecisionLog.Durability.FORCED));
        log.close();

        CompletableFuture<Void> late = log.append(commit("c1:1:2"), DecisionLog.Durability.FORCED);

        assertThatThrownBy(() -> late.get(TIMEOUT_SECONDS, TimeUnit.SECONDS)).hasMessageContaining("closed");
        assertThat(open().table().pendingCommits()).containsExactly(commit("c1:1:1"));
    }

    @Test
    void statsCountAppendedRecords() throws Exception {
        DecisionLog log = open();
        for (int i = 0; i < 10; i++) {
            await(log.append(commit("c1:1:" + i), DecisionLog.Durability.FORCED));
        }

        DecisionLog.LogStats stats = log.stats();

        assertThat(stats.records()).isEqualTo(10);
        assertThat(stats.batches()).isBetween(1L, 10L);
        assertThat(stats.bytes()).isGreaterThan(0);
    }
}
