package dev.pledge.sdk.jta;

import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.OutcomeResponse;
import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.sdk.client.CoordinatorClient.Completion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Tells the coordinator, off the application's thread, what it only needs to know eventually:
 * phase-2 completions of branches this process finished itself (batched into {@code POST /completions}),
 * and the end of transactions that needed no decision (no branch, one-phase, all read-only, rolled back).
 *
 * <p>Losing a notice is safe: an unreported branch is finished again by the coordinator after its
 * grace period (a second commit is harmless, S6), and a transaction never told ends at its deadline
 * with no branch to touch. The queue is bounded; when it is full the caller sends its notice itself
 * (back-pressure instead of loss).
 */
final class CoordinatorNotifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorNotifier.class);
    static final int CAPACITY = 10_000;
    private static final long CLOSE_WAIT_MS = 5_000;

    private final CoordinatorClient client;
    private final BlockingQueue<Notice> queue = new ArrayBlockingQueue<>(CAPACITY);
    private final Thread worker;
    private volatile boolean closed;

    /** A completion ({@code branchId != null}) or the end of a transaction that needed no decision. */
    private static final class Notice {
        final String txid;
        final String branchId;
        final BranchState completion;
        final Outcome ended;

        Notice(String txid, String branchId, BranchState completion, Outcome ended) {
            this.txid = txid;
            this.branchId = branchId;
            this.completion = completion;
            this.ended = ended;
        }
    }

    CoordinatorNotifier(CoordinatorClient client) {
        this.client = client;
        this.worker = new Thread(this::run, "pledge-coordinator-notifier");
        this.worker.setDaemon(true);
        this.worker.start();
    }

    void completed(String txid, String branchId, BranchState outcome) {
        submit(new Notice(txid, branchId, outcome, null));
    }

    /** COMMITTED: commit with no branches (the coordinator logs nothing); ABORTED: rollback. */
    void ended(String txid, Outcome outcome) {
        submit(new Notice(txid, null, null, outcome));
    }

    private void submit(Notice notice) {
        if (closed || !queue.offer(notice)) {
            send(List.of(notice));
        }
    }

    private void run() {
        List<Notice> batch = new ArrayList<>();
        while (!closed || !queue.isEmpty()) {
            try {
                Notice first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch, CoordinatorClient.MAX_COMPLETIONS_PER_REQUEST - 1);
                send(batch);
            } catch (InterruptedException e) {
                if (closed) {
                    break;
                }
            } catch (RuntimeException e) {
                log.error("Unexpected failure sending {} notices to the coordinator", batch.size(), e);
            } finally {
                batch.clear();
            }
        }
    }

    private void send(List<Notice> notices) {
        List<Completion> completions = new ArrayList<>();
        for (Notice n : notices) {
            if (n.branchId != null) {
                completions.add(new Completion(n.txid, n.branchId, n.completion));
            } else {
                sendEnd(n);
            }
        }
        if (!completions.isEmpty()) {
            try {
                client.reportCompletions(completions);
            } catch (RuntimeException e) {
                log.warn("Could not report {} branch completion(s) to the coordinator ({}); it will finish those"
                        + " branches itself after its grace period (first: {}/{})", completions.size(), e.getMessage(),
                        completions.get(0).txid(), completions.get(0).branchId());
            }
        }
    }

    private void sendEnd(Notice n) {
        try {
            if (n.ended == Outcome.COMMITTED) {
                OutcomeResponse r = client.commit(n.txid, List.of(), false);
                if (r != null && r.outcome() == Outcome.ABORTED) {
                    log.warn("Transaction {} committed its only resource locally, but the coordinator recorded it as"
                            + " ABORTED ({}): no branch was registered there, so nothing is rolled back; the record is"
                            + " only misleading", n.txid, r.reason());
                }
            } else {
                client.rollback(n.txid);
            }
        } catch (RuntimeException e) {
            log.warn("Could not tell the coordinator that transaction {} ended {} ({}); it has no branch to finish and"
                    + " will end it at its deadline", n.txid, n.ended, e.getMessage());
        }
    }

    /** Sends what is queued (bounded wait) and stops the worker. */
    @Override
    public void close() {
        closed = true;
        try {
            worker.join(CLOSE_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (worker.isAlive()) {
            worker.interrupt();
            log.warn("Stopped the coordinator notifier with {} notice(s) unsent; the coordinator finishes those"
                    + " branches and transactions itself", queue.size());
        }
    }
}
