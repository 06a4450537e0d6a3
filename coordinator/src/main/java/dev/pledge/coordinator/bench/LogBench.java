package dev.pledge.coordinator.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.HdrHistogram.Histogram;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.FileDecisionLog;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.coordinator.log.LogRecordCodec;

/**
 * Measures the commit point: FORCED COMMIT appends to a {@link FileDecisionLog}, at several
 * appender concurrencies, in three modes:
 * <ul>
 *   <li>{@code group}: the log as shipped, group commit.</li>
 *   <li>{@code single}: the same log with one record per batch, so one fsync per COMMIT.</li>
 *   <li>{@code raw}: no log at all, one thread writing the same frames straight to a file in
 *       batches of the size {@code group} achieved at that concurrency, one {@code force} per batch,
 *       zero-filling ahead in the same 4 MiB steps the log uses: what the disk allows for that
 *       pattern, so {@code group / raw} is the log's own efficiency.</li>
 * </ul>
 * Like the engine, each appender also appends a LAZY COMPLETED record for every 64 of its COMMITs
 * (not awaited, not counted), so the table and the checkpoints stay the size they have in
 * production rather than growing without bound.
 *
 * <p>Prints a table and, as its last line, {@code RESULT group_vs_single=<x> group_vs_raw=<y>} for
 * the highest concurrency. Run it with {@code ops/bench/log-bench.sh}.
 *
 * <p>Arguments (all optional): {@code --seconds=N} measured time per run (default 6),
 * {@code --warmup=N} (default 4; the JIT compilers are still busy before that), {@code --threads=1,8,64}, {@code --dir=PATH} where the temporary
 * logs go (default: the system temp directory; it must be on the disk you want to measure).
 */
public final class LogBench {

    private static final int COMPLETED_EVERY = 64;
    private static final long RAW_PREALLOCATION_STEP = 4L << 20;

    private LogBench() {
    }

    record Settings(int seconds, int warmup, List<Integer> threads, Path dir, List<String> modes) {
        static Settings parse(String[] args) {
            int seconds = 6;
            int warmup = 4;
            List<Integer> threads = List.of(1, 8, 64);
            List<String> modes = List.of("group", "single", "raw");
            Path dir = Path.of(System.getProperty("java.io.tmpdir"));
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("unknown argument " + arg + "; expected --seconds=N, --warmup=N,"
                            + " --threads=1,8,64 or --dir=PATH");
                }
                switch (kv[0]) {
                    case "--seconds" -> seconds = bounded("--seconds", Integer.parseInt(kv[1]), 1, 120);
                    case "--warmup" -> warmup = bounded("--warmup", Integer.parseInt(kv[1]), 0, 60);
                    case "--threads" -> threads = Stream.of(kv[1].split(","))
                            .map(t -> bounded("--threads", Integer.parseInt(t.trim()), 1, 1024)).toList();
                    case "--dir" -> dir = Path.of(kv[1]);
                    case "--modes" -> modes = List.of(kv[1].split(","));
                    default -> throw new IllegalArgumentException("unknown argument " + arg);
                }
            }
            if (!List.of("group", "single", "raw").containsAll(modes) || modes.contains("raw") && !modes.contains("group")) {
                throw new IllegalArgumentException("--modes takes group, single and raw (raw needs group): " + modes);
            }
            return new Settings(seconds, warmup, threads, dir, modes);
        }

        private static int bounded(String name, int value, int min, int max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(name + " = " + value + " is outside [" + min + ", " + max + "]");
            }
            return value;
        }
    }

    record Result(String mode, int threads, double recordsPerSecond, long p50Micros, long p99Micros,
                  double avgBatch, double cpuMicrosPerRecord) {
    }

    /** CPU time of the whole process (all threads, JIT and GC included). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    public static void main(String[] args) throws Exception {
        Settings settings = Settings.parse(args);
        Files.createDirectories(settings.dir());
        FileStore store = Files.getFileStore(settings.dir());
        System.out.printf(Locale.ROOT, "Pledge decision log benchmark: FORCED COMMIT appends (%d bytes per frame),"
                        + " %d s measured after %d s warm-up per run%n", sampleFrameBytes(), settings.seconds(),
                settings.warmup());
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s, Java %s; log directory %s on %s (%s)%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.version"), System.getProperty("java.version"), settings.dir(), store.name(),
                store.type());
        // Other work on the machine moves these numbers a lot; say how busy it was.
        System.out.println("load average before: " + loadAverage());

        List<Result> results = new ArrayList<>();
        for (int threads : settings.threads()) {
            Result group = null;
            if (settings.modes().contains("group")) {
                group = runLog("group", threads, FileDecisionLog.Options.defaults(), settings);
                results.add(group);
            }
            if (settings.modes().contains("single")) {
                results.add(runLog("single", threads, FileDecisionLog.Options.defaults().oneForcePerRecord(),
                        settings));
            }
            if (settings.modes().contains("raw")) {
                results.add(runRaw(threads, Math.max(1, (int) Math.round(group.avgBatch())), settings));
            }
            System.out.printf(Locale.ROOT, "  done: %d appender thread(s)%n", threads);
        }

        System.out.println();
        System.out.printf(Locale.ROOT, "%-7s %7s %12s %10s %10s %10s %12s%n", "mode", "threads", "records/s",
                "p50 us", "p99 us", "avg batch", "cpu us/rec");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-7s %7d %12.0f %10d %10d %10.1f %12.1f%n", r.mode(), r.threads(),
                    r.recordsPerSecond(), r.p50Micros(), r.p99Micros(), r.avgBatch(), r.cpuMicrosPerRecord());
        }
        System.out.println("load average after: " + loadAverage());
        if (settings.modes().size() < 3) {
            return;
        }
        int top = settings.threads().stream().max(Comparator.naturalOrder()).orElseThrow();
        double group = find(results, "group", top).recordsPerSecond();
        double single = find(results, "single", top).recordsPerSecond();
        double raw = find(results, "raw", top).recordsPerSecond();
        System.out.println();
        System.out.printf(Locale.ROOT, "RESULT group_vs_single=%.2f group_vs_raw=%.2f%n", group / single, group / raw);
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return String.format(Locale.ROOT, "%.2f", java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                    .getSystemLoadAverage());
        }
    }

    private static Result find(List<Result> results, String mode, int threads) {
        return results.stream().filter(r -> r.mode().equals(mode) && r.threads() == threads).findFirst()
                .orElseThrow();
    }

    /** A realistic COMMIT: a short txid and two branches with resource names and callback URLs. */
    static LogRecord.Commit commitRecord(long sequence) {
        return new LogRecord.Commit("c1:7:" + sequence, List.of(
                new LogRecord.Branch("b1", "orders-db", "http://orders.internal:8080/pledge/participant/callback"),
                new LogRecord.Branch("b2", "payments-db", "http://payments.internal:8080/pledge/participant/callback")),
                System.currentTimeMillis());
    }

    private static int sampleFrameBytes() {
        return 8 + LogRecordCodec.encode(commitRecord(1042)).length;
    }

    private enum Phase { WARMUP, MEASURE, STOP }

    private static Result runLog(String mode, int threads, FileDecisionLog.Options options, Settings settings)
            throws Exception {
        Path dir = Files.createTempDirectory(settings.dir(), "pledge-log-bench-" + mode + "-" + threads + "-");
        try (FileDecisionLog log = new FileDecisionLog(dir, options)) {
            log.open();
            Histogram[] latencies = new Histogram[threads];
            long[] counts = new long[threads];
            AtomicReference<Phase> phase = new AtomicReference<>(Phase.WARMUP);
            CountDownLatch done = new CountDownLatch(threads);
            List<Thread> appenders = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int id = t;
                latencies[t] = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
                Thread appender = new Thread(() -> {
                    try {
                        List<String> toComplete = new ArrayList<>(COMPLETED_EVERY);
                        for (long i = 0; ; i++) {
                            Phase now = phase.get();
                            if (now == Phase.STOP) {
                                break;
                            }
                            LogRecord.Commit commit = commitRecord(i * threads + id);
                            long start = System.nanoTime();
                            log.append(commit, DecisionLog.Durability.FORCED).get(60, TimeUnit.SECONDS);
                            long micros = (System.nanoTime() - start) / 1_000;
                            if (now == Phase.MEASURE) {
                                latencies[id].recordValue(Math.min(micros, latencies[id].getHighestTrackableValue()));
                                counts[id]++;
                            }
                            toComplete.add(commit.txid());
                            if (toComplete.size() == COMPLETED_EVERY) {
                                log.append(new LogRecord.Completed(toComplete), DecisionLog.Durability.LAZY)
                                        .exceptionally(e -> {
                                            errors.add(e);
                                            return null;
                                        });
                                toComplete = new ArrayList<>(COMPLETED_EVERY);
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    } finally {
                        done.countDown();
                    }
                }, "bench-appender-" + t);
                appenders.add(appender);
                appender.start();
            }
            Thread.sleep(TimeUnit.SECONDS.toMillis(settings.warmup()));
            phase.set(Phase.MEASURE);
            DecisionLog.LogStats before = log.stats();
            long started = System.nanoTime();
            long cpuStarted = processCpuNanos();
            Thread.sleep(TimeUnit.SECONDS.toMillis(settings.seconds()));
            phase.set(Phase.STOP);
            DecisionLog.LogStats after = log.stats();
            long elapsed = System.nanoTime() - started;
            long cpu = processCpuNanos() - cpuStarted;
            if (!done.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException("appenders did not stop within 120 s");
            }
            if (!errors.isEmpty()) {
                throw new IllegalStateException(mode + " run with " + threads + " threads failed: " + errors.get(0),
                        errors.get(0));
            }
            Histogram all = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
            long total = 0;
            for (int t = 0; t < threads; t++) {
                all.add(latencies[t]);
                total += counts[t];
            }
            double avgBatch = (double) (after.records() - before.records())
                    / Math.max(1, after.batches() - before.batches());
            return new Result(mode, threads, total / (elapsed / 1e9), all.getValueAtPercentile(50),
                    all.getValueAtPercentile(99), avgBatch, cpu / 1e3 / Math.max(1, total));
        } finally {
            deleteRecursively(dir);
        }
    }

    /** One thread, pre-encoded frames, {@code batch} frames per write, one force per write. */
    private static Result runRaw(int threads, int batch, Settings settings) throws IOException {
        Path dir = Files.createTempDirectory(settings.dir(), "pledge-log-bench-raw-" + threads + "-");
        try (FileChannel channel = FileChannel.open(dir.resolve("raw.log"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            List<byte[]> frames = new ArrayList<>();
            int bytesPerBatch = 0;
            for (int i = 0; i < batch; i++) {
                byte[] payload = LogRecordCodec.encode(commitRecord(i));
                byte[] frame = new byte[8 + payload.length];
                ByteBuffer.wrap(frame).putInt(payload.length).putInt(0).put(payload);
                frames.add(frame);
                bytesPerBatch += frame.length;
            }
            ByteBuffer buffer = ByteBuffer.allocateDirect(bytesPerBatch);
            ByteBuffer zeros = ByteBuffer.allocateDirect(64 << 10);
            Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
            long position = 0;
            long allocated = 0;
            long records = 0;
            long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.min(1, settings.warmup()));
            long measureEnd = warmupEnd + TimeUnit.SECONDS.toNanos(settings.seconds());
            long measuredBatches = 0;
            long lastEnd = warmupEnd;
            long cpuStarted = -1;
            while (true) {
                long start = System.nanoTime();
                if (start >= measureEnd) {
                    break;
                }
                buffer.clear();
                for (byte[] frame : frames) {
                    buffer.put(frame);
                }
                buffer.flip();
                if (position + bytesPerBatch > allocated) {
                    long target = Math.max(position + bytesPerBatch, allocated + RAW_PREALLOCATION_STEP);
                    while (allocated < target) {
                        zeros.clear().limit((int) Math.min(zeros.capacity(), target - allocated));
                        allocated += channel.write(zeros, allocated);
                    }
                    channel.force(false);
                }
                while (buffer.hasRemaining()) {
                    position += channel.write(buffer, position);
                }
                channel.force(false);
                long end = System.nanoTime();
                if (start >= warmupEnd) {
                    if (cpuStarted < 0) {
                        cpuStarted = processCpuNanos();
                    }
                    latency.recordValue(Math.min((end - start) / 1_000, latency.getHighestTrackableValue()));
                    records += batch;
                    measuredBatches++;
                    lastEnd = end;
                }
            }
            double seconds = (lastEnd - warmupEnd) / 1e9;
            double cpuPerRecord = (processCpuNanos() - cpuStarted) / 1e3 / Math.max(1, records);
            return new Result("raw", threads, records / seconds, latency.getValueAtPercentile(50),
                    latency.getValueAtPercentile(99), measuredBatches == 0 ? 0 : (double) records / measuredBatches,
                    cpuPerRecord);
        } finally {
            deleteRecursively(dir);
        }
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
