package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import static dev.pledge.coordinator.log.DecisionLog.Durability.FORCED;
import static dev.pledge.coordinator.log.DecisionLog.Durability.LAZY;
import static dev.pledge.coordinator.log.LogRecords.assertSameTable;
import static dev.pledge.coordinator.log.LogRecords.firstRecordOffset;
import static dev.pledge.coordinator.log.LogRecords.frameLength;
import static dev.pledge.coordinator.log.LogRecords.model;
import static dev.pledge.coordinator.log.LogRecords.onlySegment;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Recovery properties of {@link FileDecisionLog}: whatever was appended, however the tail was torn
 * or damaged, reopening yields exactly the records it should, or refuses loudly.
 */
class FileDecisionLogProperties {

    record Append(LogRecord record, DecisionLog.Durability durability) {
    }

    @Provide
    Arbitrary<List<Append>> appends() {
        return Combinators.combine(LogRecords.record(), Arbitraries.of(FORCED, LAZY)).as(Append::new)
                .list().ofMaxSize(40);
    }

    @Provide
    Arbitrary<List<LogRecord>> records() {
        // Some properties force one batch per record: keep the fsync count modest.
        return LogRecords.record().list().ofMinSize(1).ofMaxSize(15);
    }

    private static FileDecisionLog openLog(Path dir, FileDecisionLog.Options options, List<LogRecord> replayed)
            throws IOException {
        FileDecisionLog log = new FileDecisionLog(dir, options);
        log.onReplay(replayed::add);
        log.open();
        return log;
    }

    private static List<LogRecord> reopenAndReplay(Path dir) throws IOException {
        List<LogRecord> replayed = new ArrayList<>();
        openLog(dir, FileDecisionLog.Options.defaults(), replayed).close();
        return replayed;
    }

    private static void appendAll(FileDecisionLog log, List<Append> appends) throws Exception {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (Append append : appends) {
            futures.add(log.append(append.record(), append.durability()));
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    /**
     * Appends the records forced, each in a batch of its own when {@code batchEach} (so every later
     * batch carries the SYNC mark), otherwise all at once; returns the end offset of every frame.
     */
    private static List<Long> appendForced(Path dir, List<LogRecord> records, boolean batchEach) throws Exception {
        List<Long> ends = new ArrayList<>();
        long end = firstRecordOffset();
        try (FileDecisionLog log = new FileDecisionLog(dir)) {
            log.open();
            List<CompletableFuture<Void>> appends = new ArrayList<>();
            for (LogRecord record : records) {
                CompletableFuture<Void> append = log.append(record, FORCED);
                if (batchEach) {
                    append.get(30, TimeUnit.SECONDS);
                }
                appends.add(append);
                end += frameLength(record);
                ends.add(end);
            }
            CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
        return ends;
    }

    @Property(tries = 100)
    void replayYieldsExactlyTheAppendedRecords(@ForAll("appends") List<Append> appends) throws Exception {
        Path dir = LogRecords.tempDir();
        try {
            try (FileDecisionLog log = new FileDecisionLog(dir)) {
                log.open();
                appendAll(log, appends);
            }
            List<LogRecord> records = appends.stream().map(Append::record).toList();
            List<LogRecord> replayed = new ArrayList<>();
            FileDecisionLog reopened = openLog(dir, FileDecisionLog.Options.defaults(), replayed);
            try {
                assertThat(replayed).isEqualTo(records);
                assertSameTable(reopened.table(), model(records));
            } finally {
                reopened.close();
            }
        } finally {
            LogRecords.deleteRecursively(dir);
        }
    }

    @Property(tries = 60)
    void checkpointsAtAnyPointReplayToTheSameTable(@ForAll("appends") List<Append> appends,
                                                   @ForAll @Size(max = 4) List<@IntRange(max = 40) Integer> checkpointsAt)
            throws Exception {
        Path dir = LogRecords.tempDir();
        FileDecisionLog.Options tiny = FileDecisionLog.Options.defaults().withSegmentBytes(4096);
        try {
            try (FileDecisionLog log = new FileDecisionLog(dir, tiny)) {
                log.open();
                for (int i = 0; i < appends.size(); i++) {
                    if (checkpointsAt.contains(i)) {
                        log.checkpointNow();
                    }
                    log.append(appends.get(i).record(), appends.get(i).durability());
                }
            }
            List<LogRecord> records = appends.stream().map(Append::record).toList();
            FileDecisionLog reopened = openLog(dir, tiny, new ArrayList<>());
            try {
                assertSameTable(reopened.table(), model(records));
            } finally {
                reopened.close();
            }
        } finally {
            LogRecords.deleteRecursively(dir);
        }
    }

    @Property(tries = 80)
    void truncatingTheTailAnywhereKeepsExactlyTheWholeRecordsBeforeTheCut(
            @ForAll("records") List<LogRecord> records, @ForAll @IntRange(max = 1_000_000) int cutSeed)
            throws Exception {
        Path dir = LogRecords.tempDir();
        try {
            List<Long> ends = appendForced(dir, records, false);
            Path segment = onlySegment(dir);
            long size = Files.size(segment);
            long cut = firstRecordOffset() + cutSeed % (size - firstRecordOffset() + 1);
            try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                channel.truncate(cut);
            }
            int survivors = (int) ends.stream().filter(end -> end <= cut).count();

            assertThat(reopenAndReplay(dir)).isEqualTo(records.subList(0, survivors));

            LogRecord extra = new LogRecord.Epoch(99);
            try (FileDecisionLog log = new FileDecisionLog(dir)) {
                log.open();
                log.append(extra, FORCED).get(30, TimeUnit.SECONDS);
            }
            List<LogRecord> expected = new ArrayList<>(records.subList(0, survivors));
            expected.add(extra);
            assertThat(reopenAndReplay(dir)).isEqualTo(expected);
        } finally {
            LogRecords.deleteRecursively(dir);
        }
    }

    @Property(tries = 80)
    void damageInTheLastRecordLosesThatRecordAndNothingEarlier(
            @ForAll("records") List<LogRecord> records, @ForAll @IntRange(max = 1_000_000) int positionSeed,
            @ForAll @IntRange(min = 1, max = 255) int xor) throws Exception {
        Path dir = LogRecords.tempDir();
        try {
            List<Long> ends = appendForced(dir, records, false);
            long lastStart = ends.size() == 1 ? firstRecordOffset() : ends.get(ends.size() - 2);
            long lastEnd = ends.get(ends.size() - 1);
            LogRecords.flipByte(onlySegment(dir), lastStart + positionSeed % (lastEnd - lastStart), xor);

            assertThat(reopenAndReplay(dir)).isEqualTo(records.subList(0, records.size() - 1));

            try (FileDecisionLog log = new FileDecisionLog(dir)) {
                log.open();
                log.append(records.get(0), FORCED).get(30, TimeUnit.SECONDS);
            }
            assertThat(reopenAndReplay(dir)).hasSize(records.size());
        } finally {
            LogRecords.deleteRecursively(dir);
        }
    }

    @Property(tries = 60)
    void damageToARecordThatLaterBatchesFollowRefusesToStart(
            @ForAll("records") List<LogRecord> records, @ForAll @IntRange(max = 1_000_000) int recordSeed,
            @ForAll @IntRange(max = 1_000_000) int positionSeed, @ForAll @IntRange(min = 1, max = 255) int xor)
            throws Exception {
        List<LogRecord> atLeastTwo = new ArrayList<>(records);
        atLeastTwo.add(new LogRecord.Epoch(1));
        Path dir = LogRecords.tempDir();
        try {
            List<Long> ends = appendForced(dir, atLeastTwo, true);
            int damaged = recordSeed % (atLeastTwo.size() - 1);   // never the last one
            long start = damaged == 0 ? firstRecordOffset() : ends.get(damaged - 1);
            long end = ends.get(damaged);
            Path segment = onlySegment(dir);
            LogRecords.flipByte(segment, start + positionSeed % (end - start), xor);

            assertThatThrownBy(() -> reopenAndReplay(dir))
                    .isInstanceOf(CorruptLogException.class)
                    .hasMessageContaining(segment.toString())
                    .hasMessageContaining("byte offset " + start)
                    .hasMessageContaining("not a torn write");
        } finally {
            LogRecords.deleteRecursively(dir);
        }
    }

    @Property(tries = 40)
    void anyDamageInASegmentThatIsNotTheLastRefusesToStart(
            @ForAll("records") List<LogRecord> records, @ForAll @IntRange(max = 1_000_000) int positionSeed,
            @ForAll @IntRange(min = 1, max = 255) int xor) throws Exception {
        Path dir = LogRecords.tempDir();
        try {
            Path old;
            byte[] oldContent;
            try (FileDecisionLog log = new FileDecisionLog(dir)) {
                log.open();
                for (LogRecord record : records) {
                    log.append(record, FORCED);
                }
                log.append(new LogRecord.Epoch(1), FORCED).get(30, TimeUnit.SECONDS);
                old = onlySegment(dir);
                oldContent = Files.readAllBytes(old);
                log.checkpointNow();
                log.append(new LogRecord.Epoch(2), FORCED).get(30, TimeUnit.SECONDS);
            }
            // A crash between the new segment's rename and the old one's deletion left it behind, and
            // then the disk damaged one byte of it, anywhere, preallocated space included.
            oldContent[positionSeed % oldContent.length] ^= (byte) xor;
            Files.write(old, oldContent);

            assertThatThrownBy(() -> reopenAndReplay(dir))
                    .isInstanceOf(CorruptLogException.class)
                    .hasMessageContaining(old.toString())
                    .hasMessageContaining("byte offset");
        } finally {
            LogRecords.deleteRecursively(dir);
        }
    }

    @Property(tries = 15)
    void concurrentAppendersEachHaveEveryRecordDurableExactlyOnce(
            @ForAll @IntRange(min = 2, max = 8) int threads, @ForAll @IntRange(min = 1, max = 60) int perThread)
            throws Exception {
        Path dir = LogRecords.tempDir();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            try (FileDecisionLog log = new FileDecisionLog(dir,
                    FileDecisionLog.Options.defaults().withMaxQueuedRecords(16))) {
                log.open();
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> workers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    String appender = "t" + t;
                    workers.add(pool.submit(() -> {
                        start.await();
                        List<CompletableFuture<Void>> futures = new ArrayList<>();
                        for (int i = 0; i < perThread; i++) {
                            futures.add(log.append(LogRecords.heuristic(appender, String.valueOf(i)),
                                    i % 2 == 0 ? FORCED : LAZY));
                        }
                        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> worker : workers) {
                    worker.get(60, TimeUnit.SECONDS);
                }
            }

            List<LogRecord> replayed = reopenAndReplay(dir);

            assertThat(replayed).hasSize(threads * perThread).doesNotHaveDuplicates();
            for (int t = 0; t < threads; t++) {
                String appender = "t" + t;
                List<String> order = replayed.stream().map(r -> (LogRecord.Heuristic) r)
                        .filter(h -> h.txid().equals(appender)).map(LogRecord.Heuristic::reason).toList();
                List<String> expected = new ArrayList<>();
                for (int i = 0; i < perThread; i++) {
                    expected.add(String.valueOf(i));
                }
                assertThat(order).as("records of appender %s, in its order", appender).isEqualTo(expected);
            }
        } finally {
            pool.shutdownNow();
            LogRecords.deleteRecursively(dir);
        }
    }}
