package dev.pledge.coordinator.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.pledge.coordinator.log.DecisionTable;
import dev.pledge.coordinator.log.LogFormatException;
import dev.pledge.coordinator.log.LogRecord;

import static dev.pledge.coordinator.cluster.RaftDecisionLogClusterTest.commit;
import static dev.pledge.coordinator.cluster.RaftTestCluster.assertSameTable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DecisionSnapshotFileTest {

    @TempDir
    Path dir;

    private static DecisionTable sampleTable(int completions) {
        DecisionTable table = new DecisionTable();
        table.apply(new LogRecord.Epoch(4));
        List<String> done = new ArrayList<>();
        for (int i = 0; i < completions; i++) {
            String txid = "c1:4:" + i + ":" + "x".repeat(i % 40);
            table.apply(commit(txid));
            done.add(txid);
        }
        table.apply(new LogRecord.Completed(done));
        table.apply(commit("c1:4:pending-1"));
        table.apply(new LogRecord.Heuristic("h1", "c1:4:7", "b1", "orders-db", null, "ROLLBACK", "alice", "gone é€中",
                true, 1L, null));
        table.apply(commit("c1:4:pending-2"));
        return table;
    }

    @Test
    void tableRoundTripsThroughASnapshotFile() throws Exception {
        DecisionTable table = sampleTable(20_000);   // more remembered completions than one COMPLETED frame holds
        Path file = dir.resolve("snapshot.3_1234");

        DecisionSnapshotFile.write(file, DecisionSnapshotFile.Contents.of(table, 3, 1234));
        DecisionSnapshotFile.Contents read = DecisionSnapshotFile.read(file);
        DecisionTable loaded = new DecisionTable();
        read.loadInto(loaded);

        assertThat(read.term()).isEqualTo(3);
        assertThat(read.index()).isEqualTo(1234);
        assertSameTable(loaded, table);
        assertThat(Files.exists(dir.resolve("snapshot.3_1234.tmp"))).isFalse();
    }

    @Test
    void damagedOrTruncatedSnapshotIsRefusedWithAMessageThatNamesIt() throws Exception {
        Path file = dir.resolve("snapshot.1_10");
        DecisionSnapshotFile.write(file, DecisionSnapshotFile.Contents.of(sampleTable(3), 1, 10));
        byte[] good = Files.readAllBytes(file);

        byte[] flipped = good.clone();
        flipped[good.length / 2] ^= 0x10;
        Files.write(file, flipped);
        assertThatThrownBy(() -> DecisionSnapshotFile.read(file)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining(file.toString());

        Files.write(file, java.util.Arrays.copyOf(good, good.length - 7));
        assertThatThrownBy(() -> DecisionSnapshotFile.read(file)).isInstanceOf(LogFormatException.class)
                .hasMessageContaining("damaged");
    }
}
