package dev.pledge.coordinator.log;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

import static org.assertj.core.api.Assertions.assertThat;

/** Records, generators and small helpers shared by the decision log tests. */
final class LogRecords {

    private LogRecords() {
    }

    static LogRecord.Commit commit(String txid) {
        return new LogRecord.Commit(txid, List.of(
                new LogRecord.Branch("b1", "orders-db", "http://orders.internal:8080/pledge/callback"),
                new LogRecord.Branch("b2", "payments-db", null)), 1_700_000_000_000L);
    }

    static LogRecord.Completed completed(String... txids) {
        return new LogRecord.Completed(List.of(txids));
    }

    static LogRecord.Heuristic heuristic(String txid, String reason) {
        return new LogRecord.Heuristic("a-" + txid, txid, "b1", "orders-db", null, "COMMIT", "alice", reason, false,
                1_700_000_000_000L, null);
    }

    /** A table built by applying records in order: what every replay must reproduce. */
    static DecisionTable model(List<? extends LogRecord> records) {
        DecisionTable table = new DecisionTable();
        records.forEach(table::apply);
        return table;
    }

    static void assertSameTable(DecisionTable actual, DecisionTable expected) {
        assertThat(actual.epoch()).as("epoch").isEqualTo(expected.epoch());
        assertThat(actual.pendingCommits()).as("pending commits, in order").isEqualTo(expected.pendingCommits());
        assertThat(actual.heuristics()).as("heuristic records, in order").isEqualTo(expected.heuristics());
        assertThat(actual.recentlyCompletedTxids()).as("remembered completions")
                .isEqualTo(expected.recentlyCompletedTxids());
    }

    // ---- jqwik generators

    /** Short strings with multi-byte UTF-8 characters in them. */
    static Arbitrary<String> text() {
        return Arbitraries.strings().withCharRange('a', 'z').withChars("AZ09:/-_ é€中").ofMinLength(1).ofMaxLength(12);
    }

    /** Few distinct txids, so that COMPLETED records and re-commits hit earlier COMMITs. */
    static Arbitrary<String> txid() {
        return Arbitraries.integers().between(0, 20).map(i -> "c1:7:" + i);
    }

    static Arbitrary<LogRecord> record() {
        Arbitrary<LogRecord.Branch> branch = Combinators.combine(text(), text(), text().injectNull(0.3))
                .as(LogRecord.Branch::new);
        Arbitrary<LogRecord> commit = Combinators.combine(txid(), branch.list().ofMaxSize(3),
                Arbitraries.longs().between(0, 4_000_000_000_000L)).as(LogRecord.Commit::new);
        Arbitrary<LogRecord> completed = txid().list().ofMaxSize(4).map(LogRecord.Completed::new);
        Arbitrary<LogRecord> epoch = Arbitraries.longs().between(1, 1_000).map(LogRecord.Epoch::new);
        Arbitrary<String> nullable = text().injectNull(0.2);
        Arbitrary<LogRecord> heuristic = Combinators.combine(txid().injectNull(0.1), nullable, nullable, nullable,
                        nullable, nullable, Arbitraries.longs(), nullable)
                .as((txid, branchId, resource, action, operator, reason, at, outcome) -> Combinators.combine(nullable,
                                nullable, Arbitraries.of(true, false))
                        .as((id, xid, force) -> (LogRecord) new LogRecord.Heuristic(id, txid, branchId, resource, xid,
                                action, operator, reason, force, at, outcome)))
                .flatMap(a -> a);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(5, commit),
                net.jqwik.api.Tuple.of(3, completed),
                net.jqwik.api.Tuple.of(1, epoch),
                net.jqwik.api.Tuple.of(1, heuristic));
    }

    // ---- files

    static Path tempDir() {
        try {
            return Files.createTempDirectory("pledge-log-test");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> segments(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> LogSegment.firstSequenceOf(p.getFileName().toString()) >= 0).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path onlySegment(Path dir) {
        List<Path> segments = segments(dir);
        assertThat(segments).hasSize(1);
        return segments.get(0);
    }

    /** Offset of the first record in a log's first segment: header plus the empty opening checkpoint. */
    static int firstRecordOffset() {
        return LogSegment.HEADER_BYTES + LogSegment.checkpointBeginFrame(0, 0, 0, 0).length
                + LogSegment.checkpointEndFrame(0, 0, 0).length;
    }

    static int frameLength(LogRecord record) {
        return LogSegment.frame(record).length;
    }

    static void flipByte(Path file, long offset, int xor) {
        try {
            byte[] content = Files.readAllBytes(file);
            content[Math.toIntExact(offset)] ^= (byte) xor;
            Files.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
