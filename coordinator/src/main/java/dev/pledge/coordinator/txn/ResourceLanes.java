package dev.pledge.coordinator.txn;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.Executor;

/** Bounds the phase-2 calls in flight per resource; work over the bound waits in FIFO order. */
final class ResourceLanes {
    private final int limit;
    private final Executor executor;
    private final Map<String, Lane> lanes = new HashMap<>();

    private static final class Lane {
        int inFlight;
        final Queue<Runnable> waiting = new ArrayDeque<>();
    }

    ResourceLanes(int limit, Executor executor) {
        this.limit = limit;
        this.executor = executor;
    }

    /** Takes a place for a call, or (atomically) queues {@code retry} to run when one frees up. */
    synchronized boolean acquireOrWait(String resource, Runnable retry) {
        Lane lane = lanes.computeIfAbsent(resource, r -> new Lane());
        if (lane.inFlight >= limit) {
            lane.waiting.add(retry);
            return false;
        }
        lane.inFlight++;
        return true;
    }

    /** A call finished: free its place and start the next waiting attempt, if any. */
    void release(String resource) {
        Runnable next;
        synchronized (this) {
            Lane lane = lanes.get(resource);
            if (lane == null) {
                return;
            }
            lane.inFlight--;
            next = lane.waiting.poll();
            if (lane.inFlight == 0 && lane.waiting.isEmpty()) {
                lanes.remove(resource);
            }
        }
        if (next != null) {
            executor.execute(next);
        }
    }
}
