package dev.pledge.samples.transfer;

import org.springframework.transaction.HeuristicCompletionException;
import org.springframework.transaction.TransactionSystemException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Concurrent transfers between random accounts of the two banks, random amounts in both directions,
 * each recorded by outcome: committed, rolled back, or unknown (the transaction manager could not
 * tell -- with Pledge the coordinator then finishes the prepared branches by its log).
 */
public final class TransferLoad {

    /** What one run did; {@code committed}, {@code rolledBack} and {@code unknown} hold transfer ids. */
    public record Result(int threads, int attempted, Set<UUID> committed, Set<UUID> rolledBack, Set<UUID> unknown,
                         List<String> sampleErrors, Duration elapsed) {

        /** Committed transfers per second of wall-clock time. */
        public double perSecond() {
            return committed.size() / Math.max(elapsed.toNanos() / 1e9, 1e-9);
        }

        public String summary(String transactionManager) {
            return String.format("%s: %d transfers by %d threads in %.1f s = %.0f tx/s (%d committed, %d rolled back,"
                            + " %d unknown)", transactionManager, attempted, threads, elapsed.toMillis() / 1000.0,
                    perSecond(), committed.size(), rolledBack.size(), unknown.size());
        }
    }

    private TransferLoad() {
    }

    public static Result run(TransferService service, int accounts, TransferProperties.Load load) throws InterruptedException {
        Set<UUID> committed = ConcurrentHashMap.newKeySet();
        Set<UUID> rolledBack = ConcurrentHashMap.newKeySet();
        Set<UUID> unknown = ConcurrentHashMap.newKeySet();
        List<String> errors = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(load.threads());
        List<Future<?>> workers = new ArrayList<>();
        try {
            for (int t = 0; t < load.threads(); t++) {
                SplittableRandom random = new SplittableRandom(load.seed() * 1_000_003L + t);
                workers.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < load.transfersPerThread(); i++) {
                        UUID id = UUID.randomUUID();
                        long amount = 1 + random.nextLong(load.maxAmount());
                        try {
                            service.transfer(id, 1 + random.nextInt(accounts), 1 + random.nextInt(accounts),
                                    random.nextBoolean() ? amount : -amount);
                            committed.add(id);
                        } catch (TransactionSystemException | HeuristicCompletionException e) {
                            unknown.add(id);
                            note(errors, e);
                        } catch (RuntimeException e) {
                            rolledBack.add(id);
                            note(errors, e);
                        }
                    }
                    return null;
                }));
            }
            long begin = System.nanoTime();
            start.countDown();
            for (Future<?> w : workers) {
                try {
                    w.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("a transfer thread failed", e.getCause());
                }
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - begin);
            return new Result(load.threads(), load.threads() * load.transfersPerThread(), Set.copyOf(committed),
                    Set.copyOf(rolledBack), Set.copyOf(unknown), List.copyOf(errors), elapsed);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void note(List<String> errors, RuntimeException e) {
        if (errors.size() < 5) {
            errors.add(e.toString());
        }
    }
}
