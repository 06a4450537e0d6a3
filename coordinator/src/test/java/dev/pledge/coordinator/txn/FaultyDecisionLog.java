package dev.pledge.coordinator.txn;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.DecisionTable;
import dev.pledge.coordinator.log.LogRecord;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * Wraps a real {@link DecisionLog} and, for COMMIT records only, injects the failures a disk or a
 * cluster can produce: an append that never completes, one that fails before writing, and one that
 * is written but reported as failed (the outcome the engine cannot know).
 */
final class FaultyDecisionLog implements DecisionLog {
    enum Mode { PASS, HANG, FAIL_UNWRITTEN, FAIL_WRITTEN }

    private final DecisionLog real;
    volatile Mode mode = Mode.PASS;
    volatile CompletableFuture<Void> hung;
    volatile LogRecord.Commit hungRecord;

    FaultyDecisionLog(DecisionLog real) {
        this.real = real;
    }

    /** Lets a HANG append through to the real log; its future then completes when the record is durable. */
    void release() {
        real.append(hungRecord, Durability.FORCED).whenComplete((v, e) -> {
            if (e == null) {
                hung.complete(null);
            } else {
                hung.completeExceptionally(e);
            }
        });
    }

    @Override
    public void open() throws IOException {
        real.open();
    }

    @Override
    public CompletableFuture<Void> append(LogRecord record, Durability durability) {
        if (!(record instanceof LogRecord.Commit commit) || mode == Mode.PASS) {
            return real.append(record, durability);
        }
        switch (mode) {
            case HANG -> {
                hungRecord = commit;
                hung = new CompletableFuture<>();
                return hung;
            }
            case FAIL_UNWRITTEN -> {
                return CompletableFuture.failedFuture(new IOException("injected: disk write failed"));
            }
            default -> {
                CompletableFuture<Void> result = new CompletableFuture<>();
                real.append(record, durability).whenComplete((v, e) ->
                        result.completeExceptionally(new IOException("injected: fsync reported an error after the write")));
                return result;
            }
        }
    }

    @Override
    public DecisionTable table() {
        return real.table();
    }

    @Override
    public LogStats stats() {
        return real.stats();
    }

    @Override
    public void close() throws IOException {
        real.close();
    }
}
