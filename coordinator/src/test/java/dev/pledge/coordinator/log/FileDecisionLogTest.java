package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.pledge.coordinator.log.DecisionLog.Durability.FORCED;
import static dev.pledge.coordinator.log.DecisionLog.Durability.LAZY;
import static dev.pledge.coordinator.log.LogRecords.assertSameTable;
import static dev.pledge.coordinator.log.LogRecords.commit;
import static dev.pledge.coordinator.log.LogRecords.completed;
import static dev.pledge.coordinator.log.LogRecords.firstRecordOffset;
import static dev.pledge.coordinator.log.LogRecords.frameLength;
import static dev.pledge.coordinator.log.LogRecords.heuristic;
import static dev.pledge.coordinator.log.LogRecords.model;
import static dev.pledge.coordinator.log.LogRecords.onlySegment;
import static dev.pledge.coordinator.log.LogRecords.segments;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Behaviour specific to the file implementation: locking, checkpoints, damage on disk, I/O failure. */
class FileDecisionLogTest {

    private static final FileDecisionLog.Options TINY_SEGMENTS = FileDecisionLog.Options.defaults().withSegmentBytes(4096);

    @TempDir
    Path dir;

    private final List<FileDecisionLog> opened = new ArrayList<>();

    private FileDecisionLog open(FileDecisionLog.Options options) throws IOException {
        FileDecisionLog log = new FileDecisionLog(dir, options);
        opened.add(log);
        log.open();
        return log;
    }

    private FileDecisionLog open() throws IOException {
        return open(FileDecisionLog.Options.defaults());
    }

    @AfterEach
    void closeAll() throws IOException {
        for (FileDecisionLog log : opened) {
            log.close();
        }
    }

    private static void await(CompletableFuture<Void> future) throws Exception {
        future.get(30, TimeUnit.SECONDS);
    }

    /** Appends each record forced, one batch each, and closes; returns the byte offset after the last one. */
    private long writeLog(List<LogRecord> records) throws Exception {
        FileDecisionLog log = open();
        long end = firstRecordOffset();
        for (LogRecord record : records) {
            await(log.append(record, FORCED));
            end += frameLength(record);
        }
        log.close();
        return end;
    }

    private static void writeAt(Path file, long offset, byte[]... chunks) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (byte[] chunk : chunks) {
                ByteBuffer buffer = ByteBuffer.wrap(chunk);
                while (buffer.hasRemaining()) {
                    offset += channel.write(buffer, offset);
                }
            }
        }
    }

    // ---- locking

    @Test
    void secondLogOnTheSameDirectoryInThisJvmIsRefused() throws Exception {
        open();

        assertThatThrownBy(this::open)
                .isInstanceOf(IOException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("another coordinator");
    }

    @Test
    void secondProcessOnTheSameDirectoryIsRefused() throws Exception {
        open();
        assertThatThrownBy(this::open).isInstanceOf(IOException.class);   // must not release the first one's lock

        Process probe = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LockProbe.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(output).contains("PROBE REFUSED").contains(dir.toString()).contains("another coordinator")
                .contains("pid " + ProcessHandle.current().pid());
        assertThat(probe.exitValue()).isEqualTo(3);
    }

    @Test
    void closingReleasesTheLock() throws Exception {
        open().close();

        assertThat(open().table().epoch()).isZero();
    }

    @Test
    void openTwiceAndAppendBeforeOpenAreRefused() throws Exception {
        FileDecisionLog log = new FileDecisionLog(dir);
        opened.add(log);

        assertThatThrownBy(() -> await(log.append(commit("c1:1:1"), FORCED))).hasMessageContaining("not open");
        log.open();
        assertThatThrownBy(log::open).isInstanceOf(IllegalStateException.class).hasMessageContaining("already opened");
    }

    // ---- checkpoints and segments

    @Test
    void rollingCheckpointsDeleteOldSegmentsAndKeepTheTable() throws Exception {
        FileDecisionLog log = open(TINY_SEGMENTS);
        List<LogRecord> records = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            records.add(commit("c1:3:" + i));
            if (i >= 5) {
                records.add(completed("c1:3:" + (i - 5)));
            }
            if (i % 100 == 0) {
                records.add(new LogRecord.Epoch(i / 100 + 1));
                records.add(heuristic("c1:3:" + i, "operator note " + i));
            }
        }
        List<CompletableFuture<Void>> appends = new ArrayList<>();
        for (LogRecord record : records) {
            appends.add(log.append(record, record instanceof LogRecord.Completed ? LAZY : FORCED));
        }
        await(CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)));
        // The writer rolls after completing the batch that filled the segment: look once it has stopped.
        log.close();

        Path active = onlySegment(dir);
        assertThat(LogSegment.firstSequenceOf(active.getFileName().toString())).isPositive();
        FileDecisionLog reopened = open(TINY_SEGMENTS);

        assertSameTable(reopened.table(), model(records));
        assertThat(reopened.table().pendingCommits()).hasSize(5);
        assertThat(reopened.table().wasCompleted("c1:3:1000")).isTrue();
        assertThat(reopened.table().epoch()).isEqualTo(20);
    }

    @Test
    void checkpointNowStartsANewSegmentAndDeletesTheOldOne() throws Exception {
        FileDecisionLog log = open();
        await(log.append(commit("c1:1:1"), FORCED));
        Path before = onlySegment(dir);

        log.checkpointNow();

        Path after = onlySegment(dir);
        assertThat(after).isNotEqualTo(before);
        log.close();
        assertThat(open().table().pendingCommits()).containsExactly(commit("c1:1:1"));
    }

    @Test
    void segmentsLeftOverByAnInterruptedDeletionReplayToTheSameTable() throws Exception {
        FileDecisionLog log = open();
        List<LogRecord> records = new ArrayList<>(List.of(commit("c1:1:1"), commit("c1:1:2"), completed("c1:1:1")));
        for (LogRecord record : records) {
            await(log.append(record, FORCED));
        }
        Path first = onlySegment(dir);
        byte[] firstContent = Files.readAllBytes(first);
        log.checkpointNow();
        List<LogRecord> later = List.of(commit("c1:1:3"), completed("c1:1:2"));
        for (LogRecord record : later) {
            await(log.append(record, FORCED));
        }
        records.addAll(later);
        log.close();
        Files.write(first, firstContent);    // as if the crash came between the rename and the delete
        assertThat(segments(dir)).hasSize(2);

        FileDecisionLog reopened = open();

        assertSameTable(reopened.table(), model(records));
        assertThat(segments(dir)).hasSize(1).doesNotContain(first);
    }

    @Test
    void temporaryFileOfAnUnfinishedRollIsDeletedAtOpen() throws Exception {
        writeLog(List.of(commit("c1:1:1")));
        Path tmp = dir.resolve(LogSegment.fileName(99) + LogSegment.TEMP_SUFFIX);
        Files.write(tmp, new byte[] {1, 2, 3});

        FileDecisionLog log = open();

        assertThat(tmp).doesNotExist();
        assertThat(log.table().pendingCommits()).containsExactly(commit("c1:1:1"));
    }

    @Test
    void incompleteCheckpointInTheLastSegmentRefusesToStart() throws Exception {
        FileDecisionLog log = open();
        await(log.append(commit("c1:1:1"), FORCED));
        await(log.append(commit("c1:1:2"), FORCED));
        log.checkpointNow();
        log.close();
        Path segment = onlySegment(dir);
        int cut = LogSegment.HEADER_BYTES + LogSegment.checkpointBeginFrame(0, 2, 0, 0).length
                + frameLength(commit("c1:1:1")) + 3;
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            channel.truncate(cut);
        }

        assertThatThrownBy(this::open)
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(segment.toString())
                .hasMessageContaining("checkpoint is incomplete");
    }

    // ---- damage on disk

    @Test
    void tornBatchWithValidFramesAfterAHoleIsTruncatedAsATornTail() throws Exception {
        List<LogRecord> durable = List.of(commit("c1:1:1"), commit("c1:1:2"));
        long end = writeLog(durable);
        Path segment = onlySegment(dir);
        // An unforced batch whose first page never reached the disk but whose next page did.
        byte[] hole = new byte[frameLength(commit("c1:1:3"))];
        writeAt(segment, end, hole, LogSegment.frame(commit("c1:1:4")), LogSegment.frame(commit("c1:1:5")));
        List<LogRecord> replayed = new ArrayList<>();

        FileDecisionLog log = new FileDecisionLog(dir);
        opened.add(log);
        log.onReplay(replayed::add);
        log.open();

        assertThat(replayed).isEqualTo(durable);
        assertThat(Files.size(segment)).isEqualTo(end);
        await(log.append(commit("c1:1:6"), FORCED));
        log.close();
        assertThat(open().table().pendingCommits()).extracting(LogRecord.Commit::txid)
                .containsExactly("c1:1:1", "c1:1:2", "c1:1:6");
    }

    @Test
    void damageFollowedByAFrameWrittenAfterAForceRefusesToStart() throws Exception {
        long end = writeLog(List.of(commit("c1:1:1"), commit("c1:1:2")));
        Path segment = onlySegment(dir);
        byte[] hole = new byte[frameLength(commit("c1:1:3"))];
        byte[] synced = LogSegment.seal(LogSegment.frame(commit("c1:1:4")), true);
        writeAt(segment, end, hole, synced);

        assertThatThrownBy(this::open)
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(segment.toString())
                .hasMessageContaining("byte offset " + end)
                .hasMessageContaining("at offset " + (end + hole.length))
                .hasMessageContaining("Restore the directory from a backup")
                .satisfies(e -> assertThat(((CorruptLogException) e).offset()).isEqualTo(end));
    }

    @Test
    void frameWithAValidChecksumButAnUnknownFormatVersionRefusesToStart() throws Exception {
        long end = writeLog(List.of(commit("c1:1:1")));
        Path segment = onlySegment(dir);
        byte[] future = LogSegment.frame(commit("c1:1:2"));
        future[LogSegment.FRAME_HEADER_BYTES] = 9;   // format version byte of the payload: a future release's
        LogSegment.seal(future, false);
        writeAt(segment, end, future);

        assertThatThrownBy(this::open)
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(segment.toString())
                .hasMessageContaining("byte offset " + end)
                .hasMessageContaining("record format version 9 is not supported");
    }

    @Test
    void damagedSegmentHeaderRefusesToStart() throws Exception {
        writeLog(List.of(commit("c1:1:1")));
        Path segment = onlySegment(dir);
        LogRecords.flipByte(segment, 1, 0x20);

        assertThatThrownBy(this::open)
                .isInstanceOf(CorruptLogException.class)
                .hasMessageContaining(segment.toString())
                .hasMessageContaining("bad magic");
    }

    // ---- I/O failure

    @Test
    void failedForceFailsTheAppendAndEveryLaterOne() throws Exception {
        FileDecisionLog log = open();
        await(log.append(commit("c1:1:1"), FORCED));
        assertThat(log.failure()).isEmpty();
        log.injectFault(FileDecisionLog.FaultPoint.FORCE, new IOException("injected: fsync failed (EIO)"));

        CompletableFuture<Void> inFlight = log.append(commit("c1:1:2"), FORCED);

        assertThatThrownBy(() -> await(inFlight))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(IOException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("unknown outcome")
                .hasMessageContaining("injected: fsync failed");
        assertThat(log.table().isPending("c1:1:2")).as("an unknown outcome is not applied").isFalse();
        assertThatThrownBy(() -> await(log.append(commit("c1:1:3"), LAZY)))
                .cause().isInstanceOf(IOException.class).hasMessageContaining("accepts no more appends");
        assertThatThrownBy(log::checkpointNow).isInstanceOf(IOException.class);
        assertThat(log.failure()).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains(dir.toString()).contains("injected: fsync failed").contains("restart the coordinator");

        log.close();
        FileDecisionLog reopened = open();
        assertThat(reopened.table().isPending("c1:1:1")).isTrue();
        assertThat(reopened.table().isPending("c1:1:3")).isFalse();
    }

    @Test
    void failedWriteFailsALazyAppendToo() throws Exception {
        FileDecisionLog log = open();
        log.injectFault(FileDecisionLog.FaultPoint.WRITE, new IOException("injected: no space left on device"));

        assertThatThrownBy(() -> await(log.append(completed("c1:1:1"), LAZY)))
                .cause().isInstanceOf(IOException.class).hasMessageContaining("no space left");
        assertThatThrownBy(() -> await(log.append(commit("c1:1:2"), FORCED)))
                .cause().isInstanceOf(IOException.class).hasMessageContaining("accepts no more appends");
    }

    // ---- bounds and misuse

    @Test
    void oversizedRecordIsRefusedWithoutHarmingTheLog() throws Exception {
        FileDecisionLog log = open();

        assertThatThrownBy(() -> await(log.append(heuristic("c1:1:1", "x".repeat(5000)), FORCED)))
                .cause().isInstanceOf(IllegalArgumentException.class).hasMessageContaining("field reason");
        await(log.append(commit("c1:1:2"), FORCED));
        assertThat(log.table().isPending("c1:1:2")).isTrue();
    }

    @Test
    void optionOutOfRangeIsNamedWithItsRange() {
        assertThatThrownBy(() -> FileDecisionLog.Options.defaults().withMaxBatchRecords(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("FileDecisionLog option maxBatchRecords = 0 is outside the allowed range [1, 65536]");
        assertThatThrownBy(() -> FileDecisionLog.Options.defaults().withMaxBatchBytes(1024))
                .hasMessageContaining("maxBatchBytes");
    }

    @Test
    void forcedBatchesAreForcedAndLazyOnlyBatchesAreNot() throws Exception {
        FileDecisionLog log = open();
        await(log.append(commit("c1:1:1"), FORCED));
        DecisionLog.LogStats afterForced = log.stats();
        await(log.append(completed("c1:1:1"), LAZY));
        DecisionLog.LogStats afterLazy = log.stats();

        assertThat(afterForced.forces()).isGreaterThanOrEqualTo(afterForced.batches());
        assertThat(afterLazy.batches()).isEqualTo(afterForced.batches() + 1);
        assertThat(afterLazy.forces()).isEqualTo(afterForced.forces());
    }

    @Test
    void appendFromACompletionCallbackOnTheWriterThreadDoesNotDeadlock() throws Exception {
        FileDecisionLog log = open();

        await(log.append(commit("c1:1:1"), FORCED)
                .thenCompose(x -> log.append(completed("c1:1:1"), LAZY)));

        assertThat(log.table().wasCompleted("c1:1:1")).isTrue();
    }

    @Test
    void futuresCompleteInAppendOrderAcrossBatchesOfEverySize() throws Exception {
        FileDecisionLog log = open();
        List<Integer> completedInOrder = java.util.Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        int next = 0;
        // bursts of many records (full batches) between a few single ones (small batches), some of them lazy
        for (int burst = 0; burst < 40; burst++) {
            int size = burst % 2 == 0 ? 200 : 1 + burst % 3;
            for (int i = 0; i < size; i++, next++) {
                int index = next;
                futures.add(log.append(commit("c1:1:" + index), burst % 5 == 0 ? LAZY : FORCED)
                        .thenRun(() -> completedInOrder.add(index)));
            }
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

        assertThat(completedInOrder).hasSize(next).isSorted();
        assertThat(log.stats().batches()).as("batches").isLessThan(next);
    }

    @Test
    void closeReturnsOnlyOnceEveryAppendItAcceptedHasCompleted() throws Exception {
        FileDecisionLog log = open();
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            CompletableFuture<Void> appended = log.append(commit("c1:1:" + i), i % 2 == 0 ? FORCED : LAZY);
            futures.add(appended);
            if (i % 20 == 0) { // slow actions, so that completing lags well behind the appends
                appended.thenRun(() -> LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1)));
            }
        }
        log.close();

        assertThat(futures).allMatch(CompletableFuture::isDone);
        long succeeded = futures.stream().filter(f -> !f.isCompletedExceptionally()).count();
        FileDecisionLog reopened = open();
        assertThat(reopened.table().pendingCommits()).as("commits replayed after close").hasSizeGreaterThanOrEqualTo(
                (int) succeeded);
    }
}
