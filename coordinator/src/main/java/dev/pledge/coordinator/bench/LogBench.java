package dev.pledge.coordinator.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
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
 *   <li>{@code raw}: no log at all, one thread writing frames of the same size straight to a file
 *       in batches of the size {@code group} achieved in the same round, one {@code force} per
 *       batch, zero-filling ahead in the same 4 MiB steps the log uses: what the disk allows for
 *       that write pattern, so {@code group / raw} is the log's own efficiency.</li>
 *   <li>{@code handoff}: no disk at all: the appenders encode their records and hand them to one
 *       thread through a queue of the log's size, which takes batches, copies them into one buffer
 *       and completes their futures. It is the log's thread hand-off alone, so its rate bounds what
 *       any design that parks one appender thread per record can reach on this machine, whatever the
 *       disk. Printed as the {@code CEILING} line; not part of the targets.</li>
 * </ul>
 * Each appender thread appends one COMMIT at a time and waits for it, like a request thread at the
 * commit point. Like the engine, it also appends a LAZY COMPLETED record for every 64 of its
 * COMMITs (not awaited, not counted), so the table and the checkpoints stay the size they have in
 * production instead of growing without bound.
 *
 * <p>The machine this runs on is usually shared, and fsync latency drifts by a factor of several
 * within seconds. So after one JIT warm-up the three modes are measured in short interleaved
 * rounds, and the table reports the median round per mode (with the range): a slow disk phase
 * then hits every mode alike instead of whichever one happened to run during it.
 *
 * <p>Prints a table and, as its last line, {@code RESULT group_vs_single=<x> group_vs_raw=<y>}
 * (median throughputs at the highest concurrency). Run it with {@code ops/bench/log-bench.sh}.
 *
 * <p>Arguments (all optional): {@code --seconds=N} measured per run (default 2),
 * {@code --rounds=N} (default 3), {@code --warmup=N} seconds of JIT warm-up before everything
 * (default 4), {@code --threads=1,8,64}, {@code --modes=group,single,raw,handoff},
 * {@code --dir=PATH} where the temporary logs go (default: the system temp directory; it must be
 * on the disk you want to measure).
 */
public final class LogBench {

    private static final int COMPLETED_EVERY = 64;
    private static final long RAMP_UP_MILLIS = 1_000;
    private static final long RAW_PREALLOCATION_STEP = 4L << 20;
    private static final long HIGHEST_LATENCY_MICROS = TimeUnit.SECONDS.toMicros(60);

    private LogBench() {
    }

    record Settings(int seconds, int rounds, int warmup, List<Integer> threads, List<String> modes, Path dir) {
        static Settings parse(String[] args) {
            int seconds = 2;
            int rounds = 3;
            int warmup = 4;
            List<Integer> threads = List.of(1, 8, 64);
            List<String> modes = List.of("group", "single", "raw", "handoff");
            Path dir = Path.of(System.getProperty("java.io.tmpdir"));
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                String value = kv.length == 2 ? kv[1] : "";
                switch (kv[0]) {
                    case "--seconds" -> seconds = bounded("--seconds", Integer.parseInt(value), 1, 120);
                    case "--rounds" -> rounds = bounded("--rounds", Integer.parseInt(value), 1, 50);
                    case "--warmup" -> warmup = bounded("--warmup", Integer.parseInt(value), 0, 120);
                    case "--threads" -> threads = Stream.of(value.split(","))
                            .map(t -> bounded("--threads", Integer.parseInt(t.trim()), 1, 1024)).toList();
                    case "--modes" -> modes = List.of(value.split(","));
                    case "--dir" -> dir = Path.of(value);
                    default -> throw new IllegalArgumentException("unknown argument " + arg + "; expected --seconds=N,"
                            + " --rounds=N, --warmup=N, --threads=1,8,64, --modes=group,single,raw,handoff or --dir=PATH");
                }
            }
            if (!List.of("group", "single", "raw", "handoff").containsAll(modes)
                    || modes.contains("raw") && !modes.contains("group")) {
                throw new IllegalArgumentException("--modes takes group, single, raw and handoff (raw needs group): "
                        + modes);
            }
            return new Settings(seconds, rounds, warmup, threads, modes, dir);
        }

        private static int bounded(String name, int value, int min, int max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(name + " = " + value + " is outside [" + min + ", " + max + "]");
            }
            return value;
        }
    }

    /**
     * One measured run: {@code records} COMMITs completed in {@code seconds}; {@code written} records
     * (the uncounted COMPLETED ones included) went to disk in {@code batches} batches.
     */
    record Run(long records, double seconds, long cpuNanos, Histogram latencyMicros, long written, long batches) {
        double recordsPerSecond() {
            return records / seconds;
        }

        double avgBatch() {
            return (double) written / Math.max(1, batches);
        }
    }

    /** The runs of one mode at one concurrency, summarised. */
    record Row(String mode, int threads, List<Run> runs) {
        double medianRecordsPerSecond() {
            List<Double> sorted = runs.stream().map(Run::recordsPerSecond).sorted().toList();
            int n = sorted.size();
            return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        }

        String range() {
            double min = runs.stream().mapToDouble(Run::recordsPerSecond).min().orElse(0);
            double max = runs.stream().mapToDouble(Run::recordsPerSecond).max().orElse(0);
            return String.format(Locale.ROOT, "%.0f-%.0f", min, max);
        }

        Histogram latency() {
            Histogram all = new Histogram(HIGHEST_LATENCY_MICROS, 3);
            runs.forEach(r -> all.add(r.latencyMicros()));
            return all;
        }

        double avgBatch() {
            return (double) runs.stream().mapToLong(Run::written).sum()
                    / Math.max(1, runs.stream().mapToLong(Run::batches).sum());
        }

        double cpuMicrosPerRecord() {
            return runs.stream().mapToLong(Run::cpuNanos).sum() / 1e3
                    / Math.max(1, runs.stream().mapToLong(Run::records).sum());
        }
    }

    public static void main(String[] args) throws Exception {
        Settings settings = Settings.parse(args);
        Files.createDirectories(settings.dir());
        FileStore store = Files.getFileStore(settings.dir());
        System.out.printf(Locale.ROOT, "Pledge decision log benchmark: FORCED COMMIT appends (%d bytes per frame);"
                        + " %d interleaved round(s) of %d s per mode after %d s of JIT warm-up%n", sampleFrameBytes(),
                settings.rounds(), settings.seconds(), settings.warmup());
        System.out.printf(Locale.ROOT, "machine: %d cores, %s %s, Java %s; log directory %s on %s (%s)%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.version"), System.getProperty("java.version"), settings.dir(), store.name(),
                store.type());
        // Other work on the machine moves these numbers a lot; say how busy it was.
        System.out.println("load average before: " + loadAverage());

        int top = settings.threads().stream().max(Comparator.naturalOrder()).orElseThrow();
        if (settings.warmup() > 0) {
            runLog(top, FileDecisionLog.Options.defaults(), settings.warmup(), settings);
        }
        List<Row> rows = new ArrayList<>();
        for (int threads : settings.threads()) {
            Row group = new Row("group", threads, new ArrayList<>());
            Row single = new Row("single", threads, new ArrayList<>());
            Row raw = new Row("raw", threads, new ArrayList<>());
            Row handoff = new Row("handoff", threads, new ArrayList<>());
            for (int round = 0; round < settings.rounds(); round++) {
                if (settings.modes().contains("group")) {
                    group.runs().add(runLog(threads, FileDecisionLog.Options.defaults(), settings.seconds(), settings));
                }
                if (settings.modes().contains("single")) {
                    single.runs().add(runLog(threads, FileDecisionLog.Options.defaults().oneForcePerRecord(),
                            settings.seconds(), settings));
                }
                if (settings.modes().contains("raw")) {
                    double batch = group.runs().get(group.runs().size() - 1).avgBatch();
                    raw.runs().add(runRaw(Math.max(1, (int) Math.round(batch)), settings.seconds(), settings));
                }
                if (settings.modes().contains("handoff")) {
                    handoff.runs().add(runAppenders(threads, new Handoff(FileDecisionLog.Options.defaults()),
                            settings.seconds()));
                }
            }
            for (Row row : List.of(group, single, raw, handoff)) {
                if (!row.runs().isEmpty()) {
                    rows.add(row);
                }
            }
            System.out.printf(Locale.ROOT, "  done: %d appender thread(s)%n", threads);
        }
        System.out.println("load average after: " + loadAverage());

        System.out.println();
        System.out.printf(Locale.ROOT, "%-7s %7s %12s %17s %9s %9s %10s %11s%n", "mode", "threads", "records/s",
                "range", "p50 us", "p99 us", "avg batch", "cpu us/rec");
        for (Row row : rows) {
            Histogram latency = row.latency();
            System.out.printf(Locale.ROOT, "%-7s %7d %12.0f %17s %9d %9d %10.1f %11.1f%n", row.mode(), row.threads(),
                    row.medianRecordsPerSecond(), row.range(), latency.getValueAtPercentile(50),
                    latency.getValueAtPercentile(99), row.avgBatch(), row.cpuMicrosPerRecord());
        }
        if (settings.modes().containsAll(List.of("group", "single", "raw"))) {
            double group = find(rows, "group", top).medianRecordsPerSecond();
            double single = find(rows, "single", top).medianRecordsPerSecond();
            double raw = find(rows, "raw", top).medianRecordsPerSecond();
            System.out.println();
            if (settings.modes().contains("handoff")) {
                double handoff = find(rows, "handoff", top).medianRecordsPerSecond();
                System.out.printf(Locale.ROOT, "CEILING handoff_vs_raw=%.2f group_vs_handoff=%.2f (thread hand-off"
                        + " alone, no disk, at %d appenders)%n", handoff / raw, group / handoff, top);
            }
            System.out.printf(Locale.ROOT, "RESULT group_vs_single=%.2f group_vs_raw=%.2f%n", group / single,
                    group / raw);
        }
    }

    private static Row find(List<Row> rows, String mode, int threads) {
        return rows.stream().filter(r -> r.mode().equals(mode) && r.threads() == threads).findFirst().orElseThrow();
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

    /** CPU time of the whole process (all threads, JIT and GC included). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (IOException e) {
            return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean()
                    .getSystemLoadAverage());
        }
    }

    private enum Phase { RAMP_UP, MEASURE, STOP }

    /** Where the appenders of a run append: the log, or the hand-off alone. */
    private interface Sink extends AutoCloseable {
        CompletableFuture<Void> append(LogRecord record, DecisionLog.Durability durability);

        /** Records and batches handed on so far. */
        DecisionLog.LogStats stats();
    }

    /** Appender threads against a fresh log: one second to reach a steady state, then {@code seconds} measured. */
    private static Run runLog(int threads, FileDecisionLog.Options options, int seconds, Settings settings)
            throws Exception {
        Path dir = Files.createTempDirectory(settings.dir(), "pledge-log-bench-");
        try (FileDecisionLog log = new FileDecisionLog(dir, options)) {
            log.open();
            return runAppenders(threads, new LogSink(log), seconds);
        } finally {
            deleteRecursively(dir);
        }
    }

    /** The log itself; whoever opened it closes it. */
    private record LogSink(DecisionLog log) implements Sink {
        @Override
        public CompletableFuture<Void> append(LogRecord record, DecisionLog.Durability durability) {
            return log.append(record, durability);
        }

        @Override
        public DecisionLog.LogStats stats() {
            return log.stats();
        }

        @Override
        public void close() {
        }
    }

    private static Run runAppenders(int threads, Sink sink, int seconds) throws Exception {
        try (Sink log = sink) {
            Histogram[] latencies = new Histogram[threads];
            long[] counts = new long[threads];
            AtomicReference<Phase> phase = new AtomicReference<>(Phase.RAMP_UP);
            CountDownLatch done = new CountDownLatch(threads);
            List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int id = t;
                latencies[t] = new Histogram(HIGHEST_LATENCY_MICROS, 3);
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
                                latencies[id].recordValue(Math.min(micros, HIGHEST_LATENCY_MICROS));
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
                appender.start();
            }
            Thread.sleep(RAMP_UP_MILLIS);
            phase.set(Phase.MEASURE);
            DecisionLog.LogStats before = log.stats();
            long started = System.nanoTime();
            long cpuStarted = processCpuNanos();
            Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
            phase.set(Phase.STOP);
            DecisionLog.LogStats after = log.stats();
            long elapsed = System.nanoTime() - started;
            long cpu = processCpuNanos() - cpuStarted;
            if (!done.await(120, TimeUnit.SECONDS)) {
                throw new IllegalStateException("appenders did not stop within 120 s");
            }
            if (!errors.isEmpty()) {
                throw new IllegalStateException("run with " + threads + " threads failed: " + errors.get(0),
                        errors.get(0));
            }
            Histogram all = new Histogram(HIGHEST_LATENCY_MICROS, 3);
            long total = 0;
            for (int t = 0; t < threads; t++) {
                all.add(latencies[t]);
                total += counts[t];
            }
            return new Run(total, elapsed / 1e9, cpu, all, after.records() - before.records(),
                    after.batches() - before.batches());
        }
    }

    /**
     * The log's hand-off without the log: the appender encodes and frames its record and queues it; one
     * thread takes up to a batch of what is queued, copies the frames into one direct buffer (as the
     * writer does before its write) and completes the futures in order. No write, no force, no table.
     */
    private static final class Handoff implements Sink {
        private record Item(byte[] frame, CompletableFuture<Void> future) {
        }

        private final ArrayBlockingQueue<Item> queue;
        private final int maxBatch;
        private final ByteBuffer buffer;
        private final Thread taker;
        private volatile boolean closed;
        private volatile long records;
        private volatile long batches;

        Handoff(FileDecisionLog.Options options) {
            this.queue = new ArrayBlockingQueue<>(options.maxQueuedRecords());
            this.maxBatch = options.maxBatchRecords();
            this.buffer = ByteBuffer.allocateDirect(options.maxBatchBytes());
            this.taker = new Thread(this::take, "bench-handoff-taker");
            taker.start();
        }

        @Override
        public CompletableFuture<Void> append(LogRecord record, DecisionLog.Durability durability) {
            byte[] payload = LogRecordCodec.encode(record);
            byte[] frame = new byte[8 + payload.length];
            ByteBuffer.wrap(frame).putInt(payload.length).putInt(0).put(payload);
            Item item = new Item(frame, new CompletableFuture<>());
            try {
                queue.put(item);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                item.future().completeExceptionally(e);
            }
            return item.future();
        }

        private void take() {
            List<Item> batch = new ArrayList<>(maxBatch);
            try {
                while (!closed) {
                    Item first = queue.poll(10, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        continue;
                    }
                    batch.add(first);
                    queue.drainTo(batch, maxBatch - 1);
                    buffer.clear();
                    for (Item item : batch) {
                        if (item.frame().length > buffer.remaining()) {
                            buffer.clear();
                        }
                        buffer.put(item.frame());
                    }
                    records += batch.size();
                    batches++;
                    for (Item item : batch) {
                        item.future().complete(null);
                    }
                    batch.clear();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public DecisionLog.LogStats stats() {
            return new DecisionLog.LogStats(records, batches, 0, 0);
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            taker.join();
        }
    }

    /** One thread, pre-encoded frames, {@code batch} frames per write, one force per write. */
    private static Run runRaw(int batch, int seconds, Settings settings) throws IOException {
        Path dir = Files.createTempDirectory(settings.dir(), "pledge-log-bench-raw-");
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
            Histogram latency = new Histogram(HIGHEST_LATENCY_MICROS, 3);
            long position = 0;
            long allocated = 0;
            long records = 0;
            long batches = 0;
            long measureStart = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RAMP_UP_MILLIS / 2);
            long measureEnd = measureStart + TimeUnit.SECONDS.toNanos(seconds);
            long lastEnd = measureStart;
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
                if (start >= measureStart) {
                    if (cpuStarted < 0) {
                        cpuStarted = processCpuNanos();
                    }
                    latency.recordValue(Math.min((end - start) / 1_000, HIGHEST_LATENCY_MICROS));
                    records += batch;
                    batches++;
                    lastEnd = end;
                }
            }
            long cpu = cpuStarted < 0 ? 0 : processCpuNanos() - cpuStarted;
            return new Run(records, Math.max(1e-9, (lastEnd - measureStart) / 1e9), cpu, latency, records, batches);
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
