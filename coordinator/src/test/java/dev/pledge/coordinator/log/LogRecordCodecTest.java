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
                new LogRecord.Heuristic("9f1c", "c1:7:9", "b2", "payments-db", null, "ROLLBACK", "alice",
                        "stuck for 3 days", true, 1_700_000_000_123L, "HEURISTIC_ROLLBACK"),
                new LogRecord.Heuristic(null, null, null, "orders", "4660:YXRvbWlrb3MtdHg=:Yg==", "COMMIT", "bob",
                        "foreign", false, 5, null),
                new LogRecord.Heuristic(null, null, null, null, null, null, null, null, false, -1, null));
        for (LogRecord record : records) {
            assertThat(roundTrip(record)).isEqualTo(record);
        }
    }

    @Test
    void aVersion1HeuristicRecordStillReads() throws Exception {
        // the layout before id, xid and force were added: version 1, kind 4, then 6 strings, a long, a string
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
        out.writeByte(1);
        out.writeByte(LogRecordCodec.KIND_HEURISTIC);
        for (String s : new String[] {"c1:7:9", "b2", "payments-db", "ROLLBACK", "alice", "stuck"}) {
            byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.writeShort(utf8.length);
            out.write(utf8);
        }
        out.writeLong(1_700_000_000_123L);
        out.writeShort(-1);

        assertThat(LogRecordCodec.decode(bytes.toByteArray())).isEqualTo(new LogRecord.Heuristic(null, "c1:7:9", "b2",
                "payments-db", null, "ROLLBACK", "alice", "stuck", false, 1_700_000_000_123L, null));
    }

    @Test
    void heuristicRecordsAreWrittenAsVersion2AndOthersStayVersion1() {
        assertThat(LogRecordCodec.encode(LogRecords.heuristic("c1:7:1", "r"))[0]).isEqualTo((byte) 2);
        assertThat(LogRecordCodec.encode(commit("c1:7:1"))[0]).isEqualTo((byte) 1);
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
                .hasMessageContaining("reads versions 1 and 2");
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
