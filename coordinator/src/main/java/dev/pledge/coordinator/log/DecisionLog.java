package dev.pledge.coordinator.log;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * The coordinator's durable memory. Appending a forced COMMIT record is the commit point.
 *
 * <p>Contract shared by every implementation (and pinned by one conformance suite):
 * <ul>
 *   <li>{@link #open()} replays every durable record, in order, into {@link #table()}.</li>
 *   <li>A {@link Durability#FORCED} append completes normally only once the record is durable
 *       (fsynced locally, or on a majority in a cluster). It completes exceptionally when that is
 *       not known; the record may or may not be in the log then (safety rule S2).</li>
 *   <li>A {@link Durability#LAZY} append completes once the record is written; it becomes durable
 *       with the next forced batch and may be lost in a crash before that.</li>
 *   <li>Records are applied to {@link #table()} in append order before their future completes.</li>
 * </ul>
 */
public interface DecisionLog extends Closeable {

    enum Durability { FORCED, LAZY }

    /** Opens the log and replays it into {@link #table()}. Call once, before any append. */
    void open() throws IOException;

    /** Appends a record; see the class comment for when the future completes. */
    CompletableFuture<Void> append(LogRecord record, Durability durability);

    /**
     * A FORCED append made on behalf of the leader of {@code epoch}. A replicated log refuses it
     * (exceptionally: outcome unknown, S2) once this node no longer leads that epoch; a single-node log
     * has one writer and ignores the epoch.
     */
    default CompletableFuture<Void> appendInEpoch(LogRecord record, long epoch) {
        return append(record, Durability.FORCED);
    }

    /**
     * Whether this node may still issue txids of {@code epoch} and decide in it right now. A
     * single-node log has one writer and always may; a replicated log only while this node is the
     * ready leader of that term and a majority has heard from it recently (a leader that was frozen
     * or cut off may have been deposed without knowing it yet).
     */
    default boolean mayDecideIn(long epoch) {
        return true;
    }

    /** The meaning of the log so far. */
    DecisionTable table();

    /**
     * Why this log can no longer append (after an I/O error the log stops: S2), or empty while healthy.
     * Shown by the health endpoint.
     */
    default java.util.Optional<String> failure() {
        return java.util.Optional.empty();
    }

    /** Counters for metrics and benchmarks. */
    LogStats stats();

    record LogStats(long records, long batches, long forces, long bytes) {
    }
}
