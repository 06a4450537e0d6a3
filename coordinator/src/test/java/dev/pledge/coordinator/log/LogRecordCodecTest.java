package dev.pledge.coordinator.log;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.junit.jupiter.api.Test;

import static dev.pledge.coordinator.log.LogRecords.commit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LogRecordCodecTest {

    private static LogRecord roundTrip(LogRecord record) throws LogFormatException {
        return LogRecordCodec.decode(LogRecordCodec.encode(record));
    }

    @Test
    void everyKindSurvivesARoundTrip() throws Exception {
        List<LogRecord> records = List.of(
                new LogRecord.Epoch(42),
                commit("c1:7:1042"),
                new LogRecord.Commit("c1:7:1043", List.of(), 0),
                new LogRecord.Completed(List.of("c1:7:1042", "c1:7:1043")),
                new LogRecord.Completed(List.of()),
                new LogRecord.Heuristic("c1:7:9", "b2", "payments-db", "ROLLBACK", "alice", "stuck for 3 days",
                        1_700_000_000_123L, "HEURISTIC_ROLLBACK"),
                new LogRecord.Heuristic(null, null, null, null, null, null, -1, null));
        for (LogRecord record : records) {
            assertThat(roundTrip(record)).isEqualTo(record);
        }
    }

    @Test
    void nullCallbackUrlAndMultiByteTextSurvive() throws Exception {
        LogRecord.Commit record = new LogRecord.Commit("c1:7:ü€中😀", List.of(
                new LogRecord.Branch("b1", "base de données", null)), 7);

        assertThat(roundTrip(record)).isEqualTo(record);
    }

    @Test
    void encodingStartsWithTheFormatVersionAndKind() {
        byte[] payload = LogRecordCodec.encode(new LogRecord.Epoch(1));

        assertThat(payload[0]).isEqualTo(LogRecordCodec.FORMAT_VERSION);
        assertThat(payload[1]).isEqualTo(LogRecordCodec.KIND_EPOCH);
    }

    @Test
    void unknownFormatVersionIsRefusedByName() {
        byte[] payload = LogRecordCodec.encode(commit("c1:7:1"));
        payload[0] = 9;

        assertThatThrownBy(() -> LogRecordCodec.decode(payload))
                .isInstanceOf(LogFormatException.class)
                .hasMessageContaining("record format version 9 is not supported")
                .hasMessageContaining("reads version 1");
    }

    @Test
    void unknownKindIsRefusedByName() {
        byte[] payload = LogRecordCodec.encode(commit("c1:7:1"));
        payload[1] = 77;

        assertThatThrownBy(() -> LogRecordCodec.decode(payload))
                .isInstanceOf(LogFormatException.class)
                .hasMessageContaining("unknown record kind 77");
    }

    @Test
    void truncatedAndOverlongPayloadsAreRefused() {
        byte[] payload = LogRecordCodec.encode(commit("c1:7:1"));
        byte[] shorter = java.util.Arrays.copyOf(payload, payload.length - 1);
        byte[] longer = java.util.Arrays.copyOf(payload, payload.length + 1);

        assertThatThrownBy(() -> LogRecordCodec.decode(shorter)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("ends in the middle of a field");
        assertThatThrownBy(() -> LogRecordCodec.decode(longer)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("1 unexpected bytes");
    }

    @Test
    void invalidRecordContentIsRefused() {
        byte[] payload = LogRecordCodec.encode(new LogRecord.Epoch(1));
        payload[payload.length - 1] = 0;   // epoch 0 breaks Epoch's own invariant

        assertThatThrownBy(() -> LogRecordCodec.decode(payload)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("invalid record");
    }

    @Test
    void stringLongerThanTheLimitIsRefusedAtEncodeNamingTheField() {
        String reason = "x".repeat(LogRecordCodec.MAX_STRING_BYTES + 1);

        assertThatThrownBy(() -> LogRecordCodec.encode(LogRecords.heuristic("c1:7:1", reason)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("field reason")
                .hasMessageContaining(String.valueOf(LogRecordCodec.MAX_STRING_BYTES));
    }

    @Test
    void stringLengthFieldBeyondTheLimitIsRefusedAtDecode() {
        byte[] payload = LogRecordCodec.encode(new LogRecord.Commit("c1", List.of(), 0));
        payload[2] = 0x7f;   // txid length: 0x7f02 bytes

        assertThatThrownBy(() -> LogRecordCodec.decode(payload)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("string field txid has length");
    }

    @Test
    void tooManyBranchesOrTxidsAreRefused() {
        List<LogRecord.Branch> branches = Collections.nCopies(LogRecordCodec.MAX_BRANCHES + 1,
                new LogRecord.Branch("b", "r", null));
        List<String> txids = Collections.nCopies(LogRecordCodec.MAX_COMPLETED_TXIDS + 1, "c1:7:1");

        assertThatThrownBy(() -> LogRecordCodec.encode(new LogRecord.Commit("c1:7:1", branches, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1025 branches");
        assertThatThrownBy(() -> LogRecordCodec.encode(new LogRecord.Completed(txids)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("split the batch");
    }

    @Test
    void recordLargerThanOneMebibyteIsRefused() {
        List<LogRecord.Branch> branches = new ArrayList<>();
        for (int i = 0; i < LogRecordCodec.MAX_BRANCHES; i++) {
            branches.add(new LogRecord.Branch("b" + i, "r".repeat(1000), "u".repeat(1000)));
        }

        assertThatThrownBy(() -> LogRecordCodec.encode(new LogRecord.Commit("c1:7:1", branches, 0)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than " + LogRecordCodec.MAX_RECORD_BYTES + " bytes");
    }

    @Test
    void unpairedSurrogateIsRefusedRatherThanSilentlyReplaced() {
        assertThatThrownBy(() -> LogRecordCodec.encode(commit("c1:7:\uD800")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unpaired surrogate");
    }

    @Test
    void checkpointMarkersAreNotDecisionRecords() {
        byte[] payload = LogRecordCodec.encodeCheckpointEnd(0, 0, 0, 0);

        assertThatThrownBy(() -> LogRecordCodec.decode(payload)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("checkpoint marker");
    }
}
