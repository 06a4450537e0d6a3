package dev.pledge.coordinator.log;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the decision log means, as opposed to how it is stored: the highest epoch and the
 * COMMIT records whose phase 2 is not yet complete. Every {@link DecisionLog} implementation
 * applies its durable records, in log order, to one of these; the engine rebuilds itself from it.
 */
public final class DecisionTable {
    private long epoch;
    private final Map<String, LogRecord.Commit> pending = new LinkedHashMap<>();
    private final List<LogRecord.Heuristic> heuristics = new ArrayList<>();
    /** Txids whose COMPLETED record was replayed or appended; bounded, oldest forgotten first. */
    private final Map<String, Boolean> recentlyCompleted = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > MAX_RECENTLY_COMPLETED;
        }
    };
    static final int MAX_RECENTLY_COMPLETED = 100_000;

    public synchronized void apply(LogRecord record) {
        // Java 17: no pattern matching in switch yet
        if (record instanceof LogRecord.Epoch e) {
            epoch = Math.max(epoch, e.epoch());
        } else if (record instanceof LogRecord.Commit c) {
            pending.put(c.txid(), c);
        } else if (record instanceof LogRecord.Completed c) {
            for (String txid : c.txids()) {
                if (pending.remove(txid) != null) {
                    recentlyCompleted.put(txid, Boolean.TRUE);
                }
            }
        } else if (record instanceof LogRecord.Heuristic h) {
            heuristics.add(h);
        } else {
            throw new IllegalArgumentException("unknown record kind " + record.getClass());
        }
    }

    /** Replaces the whole state; used when a checkpoint or snapshot is loaded. */
    public synchronized void reset(long epoch, Collection<LogRecord.Commit> pendingCommits) {
        this.epoch = epoch;
        pending.clear();
        pendingCommits.forEach(c -> pending.put(c.txid(), c));
    }

    /**
     * Replaces the whole state, including the heuristic records and the remembered completions
     * that {@link #reset(long, Collection)} leaves alone; a file-log checkpoint (and a snapshot)
     * carries all of it.
     *
     * @param recentlyCompletedTxids oldest first, as {@link #recentlyCompletedTxids()} returns them
     */
    public synchronized void reset(long epoch, Collection<LogRecord.Commit> pendingCommits,
                                   Collection<LogRecord.Heuristic> heuristics,
                                   Collection<String> recentlyCompletedTxids) {
        reset(epoch, pendingCommits);
        this.heuristics.clear();
        this.heuristics.addAll(heuristics);
        recentlyCompleted.clear();
        recentlyCompletedTxids.forEach(txid -> recentlyCompleted.put(txid, Boolean.TRUE));
    }

    /** The txids {@link #wasCompleted} remembers, oldest first; a checkpoint carries them forward. */
    public synchronized List<String> recentlyCompletedTxids() {
        return List.copyOf(recentlyCompleted.keySet());
    }

    public synchronized long epoch() {
        return epoch;
    }

    public synchronized boolean isPending(String txid) {
        return pending.containsKey(txid);
    }

    /** True when this txid committed and completed recently enough to be remembered (S3 look-up). */
    public synchronized boolean wasCompleted(String txid) {
        return recentlyCompleted.containsKey(txid);
    }

    public synchronized List<LogRecord.Commit> pendingCommits() {
        return List.copyOf(pending.values());
    }

    public synchronized List<LogRecord.Heuristic> heuristics() {
        return List.copyOf(heuristics);
    }
}
