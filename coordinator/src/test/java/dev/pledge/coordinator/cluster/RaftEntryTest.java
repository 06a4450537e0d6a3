package dev.pledge.coordinator.cluster;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.pledge.coordinator.log.LogFormatException;
import dev.pledge.coordinator.log.LogRecord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RaftEntryTest {

    private static final LogRecord.Commit COMMIT = new LogRecord.Commit("c1:7:1",
            List.of(new LogRecord.Branch("b1", "orders-db", null)), 1_700_000_000_000L);

    @Test
    void recordEntryRoundTripsWithItsFenceTerm() throws Exception {
        RaftEntry entry = RaftEntry.decode(RaftEntry.encodeRecord(COMMIT, 7));

        assertThat(entry).isEqualTo(new RaftEntry(RaftEntry.Type.RECORD, 7, COMMIT));
        assertThat(entry.appliesIn(7)).isTrue();
        assertThat(entry.appliesIn(8)).as("a COMMIT fenced to term 7 that lands in term 8").isFalse();
    }

    @Test
    void unfencedEntryAppliesInAnyTerm() throws Exception {
        RaftEntry entry = RaftEntry.decode(RaftEntry.encodeRecord(COMMIT, RaftEntry.UNFENCED));

        assertThat(entry.appliesIn(1)).isTrue();
        assertThat(entry.appliesIn(99)).isTrue();
    }

    @Test
    void barrierCarriesNoRecord() throws Exception {
        assertThat(RaftEntry.decode(RaftEntry.encodeBarrier()))
                .isEqualTo(new RaftEntry(RaftEntry.Type.BARRIER, RaftEntry.UNFENCED, null));
    }

    @Test
    void unknownVersionTypeOrTruncationIsRefusedLoudly() {
        byte[] entry = RaftEntry.encodeRecord(COMMIT, 3);
        byte[] newerVersion = entry.clone();
        newerVersion[0] = 2;
        byte[] unknownType = entry.clone();
        unknownType[1] = 9;

        assertThatThrownBy(() -> RaftEntry.decode(newerVersion)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("format version 2");
        assertThatThrownBy(() -> RaftEntry.decode(unknownType)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("type 9");
        assertThatThrownBy(() -> RaftEntry.decode(new byte[] {1, 1})).isInstanceOf(LogFormatException.class);
        assertThatThrownBy(() -> RaftEntry.decode(java.util.Arrays.copyOf(entry, entry.length - 1)))
                .isInstanceOf(LogFormatException.class);
    }

    @Test
    void batchDecodesToItsRecordsInOrderEachWithItsOwnFence() throws Exception {
        LogRecord.Completed completed = new LogRecord.Completed(List.of("c1:6:9"));
        byte[] batch = RaftEntry.encodeBatch(List.of(RaftEntry.encodeRecord(COMMIT, 7),
                RaftEntry.encodeRecord(completed, RaftEntry.UNFENCED), RaftEntry.encodeRecord(COMMIT, 6)));

        List<RaftEntry> records = RaftEntry.decodeAll(batch);

        assertThat(records).containsExactly(new RaftEntry(RaftEntry.Type.RECORD, 7, COMMIT),
                new RaftEntry(RaftEntry.Type.RECORD, RaftEntry.UNFENCED, completed),
                new RaftEntry(RaftEntry.Type.RECORD, 6, COMMIT));
        assertThat(records).extracting(r -> r.appliesIn(7)).containsExactly(true, true, false);
        assertThat(RaftEntry.decodeAll(RaftEntry.encodeBarrier())).hasSize(1);
    }

    @Test
    void damagedBatchIsRefusedLoudly() {
        byte[] batch = RaftEntry.encodeBatch(List.of(RaftEntry.encodeRecord(COMMIT, 7), RaftEntry.encodeRecord(COMMIT, 7)));
        byte[] truncated = java.util.Arrays.copyOf(batch, batch.length - 1);
        byte[] longer = java.util.Arrays.copyOf(batch, batch.length + 1);
        byte[] hugeCount = batch.clone();
        hugeCount[RaftEntry.HEADER_BYTES] = 0x7f;
        byte[] nestedBarrier = RaftEntry.encodeBatch(List.of(RaftEntry.encodeRecord(COMMIT, 7), RaftEntry.encodeBarrier()));

        assertThatThrownBy(() -> RaftEntry.decodeAll(truncated)).isInstanceOf(LogFormatException.class);
        assertThatThrownBy(() -> RaftEntry.decodeAll(longer)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("unexpected bytes");
        assertThatThrownBy(() -> RaftEntry.decodeAll(hugeCount)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("claims");
        assertThatThrownBy(() -> RaftEntry.decodeAll(nestedBarrier)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("BARRIER");
        assertThatThrownBy(() -> RaftEntry.encodeBatch(List.of(RaftEntry.encodeRecord(COMMIT, 7))))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
