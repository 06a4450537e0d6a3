package dev.pledge.coordinator.log;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single-node {@link DecisionLog}: segmented append-only files in one directory, with group
 * commit.
 *
 * <h2>Writing</h2>
 * {@link #append} encodes and frames the record on the caller's thread (so a record that breaks a
 * bound is refused there, without harming the log) and puts it on a bounded queue; a full queue
 * blocks the caller (backpressure). One writer thread takes everything queued, up to
 * {@link Options#maxBatchRecords()} records and {@link Options#maxBatchBytes()} bytes, writes it
 * with one positional {@code FileChannel.write}, calls {@code force(false)} once if any record in
 * the batch is {@link Durability#FORCED}, applies the batch to {@link #table()} in order and only
 * then completes the futures. While one batch is being forced and completed the next one
 * accumulates, which is the whole trick: one fsync is paid for by every appender that arrived
 * during the previous one. Completing the futures costs more than the fsync at 64 appenders (each
 * is an unpark, and the woken thread often preempts the writer), yet every way of taking that work
 * off the writer measured worse on the two-core reference machine, probably because the writer
 * then competes for the CPU with the appenders it no longer wakes: a separate completer thread (smaller
 * batches, twice the CPU per record at 8 appenders), and woken appenders completing the rest of
 * their batch, with or without the writer's help (batches halve, 15-25% more CPU per record, lower
 * throughput). See docs/benchmarks.md.
 * A batch of only {@link Durability#LAZY} records is written but not forced; it becomes durable
 * with the next forced batch, a checkpoint or {@link #close()}. Losing it in a crash only means
 * phase 2 is driven again for those transactions, which is harmless (safety rule S6).
 *
 * <p>Futures are completed on the writer thread. Dependent actions attached with the non-async
 * {@code CompletableFuture} methods therefore run on it and delay every later append; attach them
 * with the {@code *Async} variants, and never block in them. An append made on the writer thread
 * (from such an action) never waits for queue space: it fails if the queue is full.
 *
 * <h2>Failure</h2>
 * Any error while writing or forcing fails the batch in flight and every later append, for good:
 * after a failed fsync the kernel may already have dropped the dirty pages, so retrying could
 * report a durability that does not exist. The in-flight outcomes are unknown (safety rule S2);
 * a restart replays the log and decides.
 *
 * <h2>Files</h2>
 * Segments are {@code segment-<20-digit first sequence number>.log} ({@link LogSegment} has the
 * byte layout). Every segment begins with a checkpoint: the epoch and a copy of every pending
 * COMMIT and every HEURISTIC record, so any one segment replays to the full table. A new segment is
 * written under a {@code .tmp} name, forced, renamed into place and the directory forced; only
 * then are older segments deleted. Segment files grow in preallocated, zero-filled steps, because
 * on ext4 an fsync that does not change the file size skips a journal commit (measured: 176 vs
 * 405 microseconds per 4 KiB synchronous write on this project's reference machine).
 *
 * <h2>Replay: torn tail versus damage</h2>
 * {@link #open()} scans every segment in order. It stops a segment at end-of-file, or at the first
 * frame that is short, has a length outside its bounds, or fails its CRC; if every byte from there
 * on is zero, that is just preallocated or never-written space. Otherwise:
 * <ul>
 *   <li>In any segment but the last: damage. Older segments are forced completely before the next
 *       one is created, so nothing in them can be torn. {@link CorruptLogException}.</li>
 *   <li>In the last segment, if a valid frame carrying the SYNC mark starts anywhere after the bad
 *       frame: damage. The mark says every byte before that frame was forced before it was written,
 *       so the bad bytes were durable once. {@link CorruptLogException}.</li>
 *   <li>Otherwise, a torn tail: bytes of the last batch, never acknowledged as forced, that reached
 *       the disk only in part (pages may land in any order, so a torn batch can hold valid frames
 *       after a bad one). The segment is truncated at the bad frame with a WARN line.</li>
 * </ul>
 * A frame whose CRC is right but whose payload does not decode is never a torn write; it means a
 * different format version or a bug, and open refuses. So does a segment whose opening checkpoint
 * is incomplete: it was forced before the file got its name.
 *
 * <p>A {@code pledge.lock} file in the directory, locked with {@link FileChannel#tryLock()} while
 * the log is open, keeps a second coordinator process out; a second instance in the same JVM is
 * refused before it touches the lock file, because closing any channel on a file releases every
 * POSIX lock this process holds on it.
 */
public final class FileDecisionLog implements DecisionLog {

    private static final Logger log = LoggerFactory.getLogger(FileDecisionLog.class);

    static final String LOCK_FILE = "pledge.lock";

    /** Bounded so that a disk that stops answering cannot hang shutdown forever. */
    private static final long CLOSE_TIMEOUT_SECONDS = 60;
    /** Replay reads a segment into memory; the scan indexes it with ints. */
    static final long MAX_SEGMENT_FILE_BYTES = Integer.MAX_VALUE - 16;
    /** A bigger checkpoint means phase 2 has stopped completing; say so rather than write it. */
    static final long MAX_CHECKPOINT_BYTES = 512L << 20;
    private static final long MAX_PREALLOCATION_STEP = 4L << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

    /** Directories (real paths) opened by a FileDecisionLog in this JVM. */
    private static final Set<Path> OPEN_DIRECTORIES = ConcurrentHashMap.newKeySet();

    /**
     * Tuning of a {@link FileDecisionLog}. Every value is checked here, once, with a message that
     * names it and its allowed range.
     *
     * @param segmentBytes     roll to a new segment (with a checkpoint) once this many bytes were
     *                         appended after the current segment's checkpoint
     * @param maxBatchRecords  most records written and forced together; 1 gives one force per
     *                         forced record (the benchmark's baseline)
     * @param maxBatchBytes    size of the writer's batch buffer; at least one maximal frame
     * @param maxQueuedRecords appends waiting for the writer before {@link #append} blocks
     */
    public record Options(long segmentBytes, int maxBatchRecords, int maxBatchBytes, int maxQueuedRecords) {

        public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
        public static final int DEFAULT_MAX_BATCH_RECORDS = 4096;
        public static final int DEFAULT_MAX_BATCH_BYTES = 4 << 20;
        public static final int DEFAULT_MAX_QUEUED_RECORDS = 16_384;

        public Options {
            check("segmentBytes", segmentBytes, 4L << 10, 1L << 30);
            check("maxBatchRecords", maxBatchRecords, 1, 65_536);
            check("maxBatchBytes", maxBatchBytes, LogSegment.MAX_FRAME_BYTES, 64L << 20);
            check("maxQueuedRecords", maxQueuedRecords, 1, 1 << 20);
        }

        public static Options defaults() {
            return new Options(DEFAULT_SEGMENT_BYTES, DEFAULT_MAX_BATCH_RECORDS, DEFAULT_MAX_BATCH_BYTES,
                    DEFAULT_MAX_QUEUED_RECORDS);
        }

        public Options withSegmentBytes(long value) {
            return new Options(value, maxBatchRecords, maxBatchBytes, maxQueuedRecords);
        }

        public Options withMaxBatchRecords(int value) {
            return new Options(segmentBytes, value, maxBatchBytes, maxQueuedRecords);
        }

        public Options withMaxBatchBytes(int value) {
            return new Options(segmentBytes, maxBatchRecords, value, maxQueuedRecords);
        }

        public Options withMaxQueuedRecords(int value) {
            return new Options(segmentBytes, maxBatchRecords, maxBatchBytes, value);
        }

        /** No group commit: every batch holds one record, so every forced record pays its own fsync. */
        public Options oneForcePerRecord() {
            return withMaxBatchRecords(1);
        }

        private static void check(String name, long value, long min, long max) {
            if (value < min || value > max) {
                throw new IllegalArgumentException("FileDecisionLog option " + name + " = " + value
                        + " is outside the allowed range [" + min + ", " + max + "]");
            }
        }
    }

    /** Named points where a test can make the writer's next file operation fail. */
    enum FaultPoint { WRITE, FORCE }

    private enum State { NEW, OPENING, OPEN, CLOSING, FAILED, CLOSED }

    private enum Control { CHECKPOINT, CLOSE }

    /** One queued append, or a control request for the writer. */
    private static final class Pending {
        final LogRecord record;
        final byte[] frame;
        final boolean forced;
        final Control control;
        final CompletableFuture<Void> future = new CompletableFuture<>();

        Pending(LogRecord record, byte[] frame, boolean forced, Control control) {
            this.record = record;
            this.frame = frame;
            this.forced = forced;
            this.control = control;
        }
    }

    private final Path directory;
    private final Options options;
    private final long preallocationStep;
    private final DecisionTable table = new DecisionTable();
    private final ArrayBlockingQueue<Pending> queue;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private volatile IOException failure;
    private Consumer<LogRecord> replayListener = record -> { };

    private Path lockedDirectory;
    private FileChannel lockChannel;
    private FileLock lock;
    private Thread writer;

    // Owned by the writer thread once open() has started it.
    private ByteBuffer buffer;
    private FileChannel segment;
    private Path segmentPath;
    private long segmentFirstSequence;
    private long position;
    private long allocatedEnd;
    private long bytesSinceCheckpoint;
    private long nextSequence;
    /** Every byte written to the active segment so far has been forced. */
    private boolean durable;

    // Written by the writer thread only; volatile so that stats() sees them.
    private volatile long statRecords;
    private volatile long statBatches;
    private volatile long statForces;
    private volatile long statBytes;

    private volatile IOException injectedWriteFault;
    private volatile IOException injectedForceFault;

    public FileDecisionLog(Path directory) {
        this(directory, Options.defaults());
    }

    public FileDecisionLog(Path directory, Options options) {
        this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
        this.options = Objects.requireNonNull(options, "options");
        this.preallocationStep = Math.min(options.segmentBytes(), MAX_PREALLOCATION_STEP);
        this.queue = new ArrayBlockingQueue<>(options.maxQueuedRecords());
    }

    public Path directory() {
        return directory;
    }

    @Override
    public DecisionTable table() {
        return table;
    }

    @Override
    public LogStats stats() {
        return new LogStats(statRecords, statBatches, statForces, statBytes);
    }

    // ------------------------------------------------------------------------------------------
    // open and replay

    @Override
    public void open() throws IOException {
        if (!state.compareAndSet(State.NEW, State.OPENING)) {
            throw new IllegalStateException("decision log " + directory + " was already opened (state "
                    + state.get() + "); open() may be called once");
        }
        long started = System.nanoTime();
        try {
            Files.createDirectories(directory);
            acquireLock();
            deleteTemporaryFiles();
            List<Path> segments = listSegments();
            if (segments.isEmpty()) {
                createSegment(0, Checkpoint.EMPTY);
                closeQuietly(segment);
                segment = null;
                segments = listSegments();
            }
            int replayed = replay(segments);
            deleteSegmentsBefore(segmentFirstSequence);
            buffer = ByteBuffer.allocateDirect(options.maxBatchBytes());
            writer = new Thread(this::runWriter, "pledge-decision-log-writer");
            writer.setDaemon(true);
            state.set(State.OPEN);
            writer.start();
            log.info("Opened decision log {}: read {} entries (checkpoints included) from {} segment(s) in {} ms;"
                            + " epoch {}, {} pending commit(s), active segment {}", directory, replayed, segments.size(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), table.epoch(),
                    table.pendingCommits().size(), segmentPath.getFileName());
        } catch (IOException | RuntimeException | Error e) {
            closeQuietly(segment);
            segment = null;
            releaseLock();
            state.set(State.NEW);
            throw e;
        }
    }

    /** Test hook: sees every decision record replayed outside checkpoints, in file order. Call before open(). */
    void onReplay(Consumer<LogRecord> listener) {
        this.replayListener = Objects.requireNonNull(listener);
    }

    private void acquireLock() throws IOException {
        Path real = directory.toRealPath();
        if (!OPEN_DIRECTORIES.add(real)) {
            throw new IOException("decision log directory " + directory + " is already open in this JVM:"
                    + " another coordinator (FileDecisionLog) is using it. Close that one first, or give each"
                    + " coordinator its own directory");
        }
        lockedDirectory = real;
        Path lockFile = directory.resolve(LOCK_FILE);
        lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            lock = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            String holder = readHolder(lockChannel);
            releaseLock();
            throw new IOException("decision log directory " + directory + " is in use: another coordinator"
                    + " holds the lock on " + lockFile + (holder.isEmpty() ? "" : " (" + holder + ")")
                    + ". Stop that coordinator, or give this one its own directory; never run two coordinators"
                    + " on one log");
        }
        lockChannel.truncate(0);
        lockChannel.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n")
                .getBytes(StandardCharsets.UTF_8)), 0);
    }

    private static String readHolder(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(64);
            channel.read(b, 0);
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private void releaseLock() {
        try {
            if (lock != null && lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            log.warn("Could not release the lock on {}: {}", directory.resolve(LOCK_FILE), e.toString());
        }
        lock = null;
        closeQuietly(lockChannel);
        lockChannel = null;
        if (lockedDirectory != null) {
            OPEN_DIRECTORIES.remove(lockedDirectory);
            lockedDirectory = null;
        }
    }

    private void deleteTemporaryFiles() throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory,
                LogSegment.PREFIX + "*" + LogSegment.SUFFIX + LogSegment.TEMP_SUFFIX)) {
            for (Path tmp : files) {
                // A roll that crashed before its rename: the old segments are still complete.
                log.info("Deleting {}, left over from a segment roll that did not finish", tmp);
                Files.delete(tmp);
            }
        }
    }

    private List<Path> listSegments() throws IOException {
        List<Path> segments = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory,
                LogSegment.PREFIX + "*" + LogSegment.SUFFIX)) {
            for (Path file : files) {
                if (LogSegment.firstSequenceOf(file.getFileName().toString()) >= 0) {
                    segments.add(file);
                } else {
                    log.warn("Ignoring {}: not a decision log segment name", file);
                }
            }
        }
        segments.sort(Comparator.comparingLong(p -> LogSegment.firstSequenceOf(p.getFileName().toString())));
        return segments;
    }

    /**
     * Scans and checks every segment, oldest first, and leaves the last one open for appending.
     * Each segment starts with a checkpoint of everything before it, so the state after the last
     * segment is the table; older segments (left over if a crash interrupted their deletion) are
     * still read in full so that damage in them is reported rather than ignored.
     */
    private int replay(List<Path> segments) throws IOException {
        DecisionTable replayedState = null;
        int replayed = 0;
        for (int i = 0; i < segments.size(); i++) {
            Path file = segments.get(i);
            boolean last = i == segments.size() - 1;
            long firstSequence = LogSegment.firstSequenceOf(file.getFileName().toString());
            long size = Files.size(file);
            if (size > MAX_SEGMENT_FILE_BYTES) {
                throw new CorruptLogException(file, 0, "the segment is " + size + " bytes, more than the "
                        + MAX_SEGMENT_FILE_BYTES + " a segment can hold", "Restore the directory from a backup");
            }
            byte[] content = Files.readAllBytes(file);
            LogSegment.Scan scan = LogSegment.scan(file, firstSequence, content);
            if (!scan.clean()) {
                if (!last) {
                    throw new CorruptLogException(file, scan.validEnd(), scan.problem() + ", in a segment that is not"
                            + " the last one (it was forced completely before the next segment was created, so this"
                            + " is not a torn write)", supersededAdvice(file, segments.get(segments.size() - 1)));
                }
                int synced = LogSegment.findSyncedFrame(content, scan.validEnd());
                if (synced >= 0) {
                    throw new CorruptLogException(file, scan.validEnd(), scan.problem() + ", followed by a valid"
                            + " frame at offset " + synced + " that was written after everything before it had been"
                            + " forced, so durable records are damaged (this is not a torn write)",
                            "Restore the directory from a backup. Truncating the segment at this offset would lose"
                                    + " every record after it, possibly durable COMMIT decisions");
                }
            }
            DecisionTable segmentState = replaySegment(scan);
            replayed += scan.frames().size();
            if (last) {
                openLastSegment(scan);
            }
            replayedState = segmentState;
        }
        assert replayedState != null;
        table.reset(replayedState.epoch(), replayedState.pendingCommits(), replayedState.heuristics(),
                replayedState.recentlyCompletedTxids());
        return replayed;
    }

    private static String supersededAdvice(Path damaged, Path lastSegment) {
        return "Every segment begins with a checkpoint of all earlier state, so if " + lastSegment.getFileName()
                + " is intact this file is superseded: move " + damaged.getFileName() + " out of the directory"
                + " (keep a copy) and start again; the start-up will verify the later segment. If in doubt, restore"
                + " the directory from a backup";
    }

    /** The table state after one segment: its opening checkpoint, then its records. */
    private DecisionTable replaySegment(LogSegment.Scan scan) throws CorruptLogException {
        List<LogSegment.Frame> frames = scan.frames();
        String advice = "The checkpoint was forced before the segment was renamed into place, so it cannot be"
                + " torn; restore the directory from a backup";
        if (frames.isEmpty() || !(frames.get(0).entry() instanceof LogRecordCodec.SegmentEntry.CheckpointBegin begin)) {
            throw new CorruptLogException(scan.file(), LogSegment.HEADER_BYTES,
                    "the segment does not start with a checkpoint", advice);
        }
        List<LogRecord.Commit> commits = new ArrayList<>();
        List<LogRecord.Heuristic> heuristics = new ArrayList<>();
        List<String> completed = new ArrayList<>();
        int i = 1;
        for (; i < frames.size(); i++) {
            LogSegment.Frame frame = frames.get(i);
            LogRecord record = frame.entry() instanceof LogRecordCodec.SegmentEntry.Decision d ? d.record() : null;
            boolean fits;
            if (commits.size() < begin.commits()) {
                fits = record instanceof LogRecord.Commit c && commits.add(c);
            } else if (heuristics.size() < begin.heuristics()) {
                fits = record instanceof LogRecord.Heuristic h && heuristics.add(h);
            } else if (completed.size() < begin.completedTxids()) {
                fits = record instanceof LogRecord.Completed c && !c.txids().isEmpty()
                        && completed.size() + c.txids().size() <= begin.completedTxids() && completed.addAll(c.txids());
            } else {
                fits = frame.entry() instanceof LogRecordCodec.SegmentEntry.CheckpointEnd end
                        && end.commits() == begin.commits() && end.heuristics() == begin.heuristics()
                        && end.completedTxids() == begin.completedTxids();
                if (fits) {
                    break;
                }
            }
            if (!fits) {
                throw new CorruptLogException(scan.file(), frame.offset(), "entry " + i + " of the opening checkpoint"
                        + " is " + frame.entry() + ", which does not fit the checkpoint announced as " + begin, advice);
            }
        }
        if (i >= frames.size()) {
            throw new CorruptLogException(scan.file(), scan.validEnd(), "the opening checkpoint is incomplete: it"
                    + " announces " + begin + " but the segment ends after " + (frames.size() - 1) + " entries", advice);
        }
        DecisionTable state = new DecisionTable();
        state.reset(begin.epoch(), commits, heuristics, completed);
        for (i++; i < frames.size(); i++) {
            LogSegment.Frame frame = frames.get(i);
            if (!(frame.entry() instanceof LogRecordCodec.SegmentEntry.Decision d)) {
                throw new CorruptLogException(scan.file(), frame.offset(), "a checkpoint marker " + frame.entry()
                        + " appears after the segment's opening checkpoint", advice);
            }
            state.apply(d.record());
            replayListener.accept(d.record());
        }
        return state;
    }

    private void openLastSegment(LogSegment.Scan scan) throws IOException {
        FileChannel channel = FileChannel.open(scan.file(), StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            if (!scan.clean()) {
                log.warn("Decision log segment {} has a torn tail at byte offset {} ({}): truncating it there,"
                                + " dropping {} bytes of a write that was never acknowledged as durable", scan.file(),
                        scan.validEnd(), scan.problem(), scan.damagedEnd() - scan.validEnd());
                channel.truncate(scan.validEnd());
                allocatedEnd = scan.validEnd();
            } else {
                allocatedEnd = scan.fileSize();
            }
            // The bytes read may have been only in the page cache (a process crash, not a power
            // loss); force them so that the first batch may carry the SYNC mark truthfully.
            channel.force(true);
        } catch (IOException e) {
            closeQuietly(channel);
            throw e;
        }
        segment = channel;
        segmentPath = scan.file();
        segmentFirstSequence = scan.firstSequence();
        position = scan.validEnd();
        nextSequence = scan.firstSequence() + scan.frames().size();
        bytesSinceCheckpoint = 0;
        durable = true;
    }

    // ------------------------------------------------------------------------------------------
    // appending

    @Override
    public CompletableFuture<Void> append(LogRecord record, Durability durability) {
        Objects.requireNonNull(record, "record");
        Objects.requireNonNull(durability, "durability");
        State s = state.get();
        if (s != State.OPEN) {
            return CompletableFuture.failedFuture(notAccepting(s));
        }
        byte[] frame;
        try {
            frame = LogSegment.frame(record);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("record not appended to decision log "
                    + directory + ": " + e.getMessage(), e));
        }
        Pending pending = new Pending(record, frame, durability == Durability.FORCED, null);
        enqueue(pending);
        return pending.future;
    }

    /**
     * Forces a checkpoint now: rolls to a new segment that starts with the current table and
     * deletes the older ones. Normally this happens by itself every {@link Options#segmentBytes()};
     * exposed for tests and for compacting the log before a backup.
     */
    public void checkpointNow() throws IOException {
        Pending pending = new Pending(null, null, true, Control.CHECKPOINT);
        State s = state.get();
        if (s != State.OPEN) {
            throw asIOException(notAccepting(s));
        }
        enqueue(pending);
        try {
            pending.future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a checkpoint of " + directory);
        } catch (ExecutionException e) {
            throw asIOException(e.getCause());
        }
    }

    private void enqueue(Pending pending) {
        try {
            if (Thread.currentThread() == writer) {
                // Waiting for space here would wait for ourselves.
                if (!queue.offer(pending)) {
                    pending.future.completeExceptionally(new IllegalStateException("decision log " + directory
                            + " queue is full and append() was called on its writer thread, which would deadlock;"
                            + " attach follow-up work with the *Async CompletableFuture methods"));
                    return;
                }
            } else {
                while (!queue.offer(pending, 20, TimeUnit.MILLISECONDS)) {
                    State s = state.get();
                    if (s != State.OPEN) {
                        pending.future.completeExceptionally(notAccepting(s));
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.future.completeExceptionally(new InterruptedIOException("interrupted while waiting for space in"
                    + " the queue of decision log " + directory + "; the record was not appended"));
            return;
        }
        // The writer stops taking from the queue when it closes or fails, and drains it once after
        // changing the state. If we still see OPEN here, our element went in before that change,
        // so the writer (or close) will complete it; otherwise take it back if nobody took it yet.
        State s = state.get();
        if (s != State.OPEN && queue.remove(pending)) {
            pending.future.completeExceptionally(notAccepting(s));
        }
    }

    private Exception notAccepting(State s) {
        return switch (s) {
            case NEW, OPENING -> new IllegalStateException("decision log " + directory + " is not open; call open()"
                    + " before appending");
            case CLOSING, CLOSED -> new IllegalStateException("decision log " + directory + " is closed; the record"
                    + " was not appended");
            case FAILED -> new IOException("decision log " + directory + " has failed and accepts no more appends;"
                    + " the record was not appended. Cause: " + failure.getMessage(), failure);
            case OPEN -> throw new AssertionError("log is open");
        };
    }

    private static IOException asIOException(Throwable t) {
        return t instanceof IOException io ? io : new IOException(t.getMessage(), t);
    }

    // ------------------------------------------------------------------------------------------
    // the writer thread

    private void runWriter() {
        ArrayDeque<Pending> inbox = new ArrayDeque<>();
        List<Pending> batch = new ArrayList<>();
        Pending control = null;
        try {
            while (true) {
                if (inbox.isEmpty()) {
                    inbox.add(queue.take());
                }
                if (inbox.size() < options.maxBatchRecords()) {
                    queue.drainTo(inbox, options.maxBatchRecords() - inbox.size());
                }
                if (inbox.peek().control != null) {
                    control = inbox.poll();
                    if (control.control == Control.CLOSE) {
                        if (!durable) {
                            force();
                        }
                        control.future.complete(null);
                        return;
                    }
                    roll();
                    control.future.complete(null);
                    control = null;
                    continue;
                }
                buffer.clear();
                while (!inbox.isEmpty() && batch.size() < options.maxBatchRecords()) {
                    Pending next = inbox.peek();
                    if (next.control != null || next.frame.length > buffer.remaining()) {
                        break;
                    }
                    inbox.poll();
                    if (batch.isEmpty() && durable) {
                        LogSegment.seal(next.frame, true);
                    }
                    buffer.put(next.frame);
                    batch.add(next);
                }
                writeBatch(batch);
                batch.clear();
                if (bytesSinceCheckpoint >= options.segmentBytes()) {
                    roll();
                }
            }
        } catch (Throwable t) {
            fail(t, batch, inbox, control);
        }
    }

    private void writeBatch(List<Pending> batch) throws IOException {
        assert !batch.isEmpty();
        buffer.flip();
        int length = buffer.remaining();
        boolean force = false;
        for (Pending p : batch) {
            force |= p.forced;
        }
        preallocate(position + length);
        throwInjected(FaultPoint.WRITE);
        writeFully(segment, buffer, position);
        position += length;
        bytesSinceCheckpoint += length;
        nextSequence += batch.size();
        if (force) {
            force();
        } else {
            durable = false;
        }
        statBatches++;
        statRecords += batch.size();
        statBytes += length;
        for (Pending p : batch) {
            table.apply(p.record);
        }
        for (Pending p : batch) {
            p.future.complete(null);
        }
    }

    private void force() throws IOException {
        throwInjected(FaultPoint.FORCE);
        segment.force(false);
        statForces++;
        durable = true;
    }

    /** Zero-fills ahead of the write position, so that forcing a batch does not change the file size. */
    private void preallocate(long end) throws IOException {
        if (end <= allocatedEnd) {
            return;
        }
        long target = Math.max(end, allocatedEnd + preallocationStep);
        writeZeros(segment, allocatedEnd, target);
        allocatedEnd = target;
        force();
    }

    /**
     * Starts a new segment with a checkpoint of the table and deletes the older ones. The old
     * segment is forced first: a crash between the rename and the deletion leaves it behind, and
     * replay treats damage in a non-last segment as fatal, so it must not have a torn tail.
     */
    private void roll() throws IOException {
        if (!durable) {
            force();
        }
        long firstSequence = nextSequence;
        FileChannel previous = segment;
        createSegment(firstSequence, Checkpoint.of(table));
        statForces += 2;
        closeQuietly(previous);
        deleteSegmentsBefore(firstSequence);
    }

    /** The table state a new segment starts with. The writer thread is the table's only mutator, so this is consistent. */
    private record Checkpoint(long epoch, List<LogRecord.Commit> commits, List<LogRecord.Heuristic> heuristics,
                              List<String> completedTxids) {
        static final Checkpoint EMPTY = new Checkpoint(0, List.of(), List.of(), List.of());

        static Checkpoint of(DecisionTable table) {
            return new Checkpoint(table.epoch(), table.pendingCommits(), table.heuristics(),
                    table.recentlyCompletedTxids());
        }
    }

    /** Completed txids per checkpoint COMPLETED record; well under the record size limit even for 4 KiB txids. */
    private static final int CHECKPOINT_TXIDS_PER_RECORD = 64;

    /**
     * Writes a segment holding a header and a checkpoint under a temporary name, forces it, renames
     * it into place and forces the directory; then makes it the active segment.
     */
    private void createSegment(long firstSequence, Checkpoint checkpoint) throws IOException {
        Path target = directory.resolve(LogSegment.fileName(firstSequence));
        Path tmp = directory.resolve(target.getFileName() + LogSegment.TEMP_SUFFIX);
        int commits = checkpoint.commits().size();
        int heuristics = checkpoint.heuristics().size();
        int completed = checkpoint.completedTxids().size();
        List<byte[]> frames = new ArrayList<>(commits + heuristics + completed / CHECKPOINT_TXIDS_PER_RECORD + 3);
        frames.add(LogSegment.checkpointBeginFrame(checkpoint.epoch(), commits, heuristics, completed));
        checkpoint.commits().forEach(c -> frames.add(LogSegment.frame(c)));
        checkpoint.heuristics().forEach(h -> frames.add(LogSegment.frame(h)));
        for (int from = 0; from < completed; from += CHECKPOINT_TXIDS_PER_RECORD) {
            List<String> chunk = checkpoint.completedTxids()
                    .subList(from, Math.min(completed, from + CHECKPOINT_TXIDS_PER_RECORD));
            frames.add(LogSegment.frame(new LogRecord.Completed(chunk)));
        }
        frames.add(LogSegment.checkpointEndFrame(commits, heuristics, completed));
        long bytes = LogSegment.HEADER_BYTES;
        for (byte[] frame : frames) {
            bytes += frame.length;
        }
        if (bytes > MAX_CHECKPOINT_BYTES) {
            throw new IOException("the checkpoint for " + target + " would be " + bytes + " bytes (" + commits
                    + " pending commits, " + heuristics + " heuristic records), more than the limit of "
                    + MAX_CHECKPOINT_BYTES + "; phase 2 is not completing transactions: find out why before"
                    + " restarting");
        }

        FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        long end;
        try {
            // The writer's buffer does not exist yet when open() creates the first segment.
            ByteBuffer out = buffer != null ? buffer : ByteBuffer.allocate(LogSegment.MAX_FRAME_BYTES);
            out.clear();
            LogSegment.putHeader(out, firstSequence);
            long offset = 0;
            for (byte[] frame : frames) {
                if (frame.length > out.remaining()) {
                    out.flip();
                    offset += writeFully(channel, out, offset);
                    out.clear();
                }
                out.put(frame);
            }
            out.flip();
            offset += writeFully(channel, out, offset);
            end = offset;
            assert end == bytes : end + " != " + bytes;
            writeZeros(channel, end, end + preallocationStep);
            channel.force(true);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            forceDirectory();
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            Files.deleteIfExists(tmp);
            throw e;
        }
        segment = channel;
        segmentPath = target;
        segmentFirstSequence = firstSequence;
        position = end;
        allocatedEnd = end + preallocationStep;
        bytesSinceCheckpoint = 0;
        nextSequence = firstSequence + frames.size();
        durable = true;
        log.debug("Started decision log segment {} with a checkpoint of {} pending commits, {} heuristics and {}"
                + " remembered completions", target, commits, heuristics, completed);
    }

    private void deleteSegmentsBefore(long firstSequence) throws IOException {
        for (Path old : listSegments()) {
            if (LogSegment.firstSequenceOf(old.getFileName().toString()) < firstSequence) {
                Files.delete(old);
                log.info("Deleted decision log segment {}: superseded by the checkpoint in {}", old.getFileName(),
                        LogSegment.fileName(firstSequence));
            }
        }
    }

    private void forceDirectory() throws IOException {
        // Makes the rename durable; Linux and macOS allow opening a directory for this.
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    private static long writeFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long written = 0;
        while (buffer.hasRemaining()) {
            written += channel.write(buffer, position + written);
        }
        return written;
    }

    private static void writeZeros(FileChannel channel, long from, long to) throws IOException {
        long at = from;
        while (at < to) {
            ByteBuffer zeros = ZEROS.duplicate();
            zeros.limit((int) Math.min(zeros.capacity(), to - at));
            at += writeFully(channel, zeros, at);
        }
    }

    private void throwInjected(FaultPoint point) throws IOException {
        IOException fault = point == FaultPoint.WRITE ? injectedWriteFault : injectedForceFault;
        if (fault != null) {
            throw fault;
        }
    }

    /** The failure's message (it names the directory, segment, offset, cause and what to do); for the health endpoint. */
    @Override
    public java.util.Optional<String> failure() {
        IOException f = failure;
        return f == null ? java.util.Optional.empty() : java.util.Optional.of(f.getMessage());
    }

    /** Test hook: the writer's next operation at {@code point} throws {@code fault} (and every later one). */
    void injectFault(FaultPoint point, IOException fault) {
        if (point == FaultPoint.WRITE) {
            injectedWriteFault = fault;
        } else {
            injectedForceFault = fault;
        }
    }

    private void fail(Throwable cause, List<Pending> batch, ArrayDeque<Pending> inbox, Pending control) {
        IOException failed = new IOException("decision log " + directory + " stopped after an error on segment "
                + segmentPath + " near byte offset " + position + ": " + cause + ". The appends in flight have an"
                + " unknown outcome (they may or may not be durable) and no more appends are accepted. Check the"
                + " disk (free space, permissions, kernel log), then restart the coordinator: replay at start-up"
                + " decides which records are in the log", cause);
        failure = failed;
        state.set(State.FAILED);
        log.error(failed.getMessage(), cause);
        // No write may follow a failed one: the kernel may have dropped the dirty pages already.
        closeQuietly(segment);
        batch.forEach(p -> p.future.completeExceptionally(failed));
        inbox.forEach(p -> p.future.completeExceptionally(failed));
        if (control != null) {
            control.future.completeExceptionally(failed);
        }
        failQueued(failed);
    }

    private void failQueued(Exception cause) {
        List<Pending> left = new ArrayList<>();
        queue.drainTo(left);
        left.forEach(p -> p.future.completeExceptionally(cause));
    }

    // ------------------------------------------------------------------------------------------
    // closing

    /**
     * Writes and forces everything appended so far, stops the writer, releases the lock. Appends
     * that arrive meanwhile fail. Idempotent.
     */
    @Override
    public void close() throws IOException {
        if (Thread.currentThread() == writer) {
            throw new IllegalStateException("decision log " + directory + " cannot be closed from its own writer thread"
                    + " (a non-async CompletableFuture action); close it from another thread");
        }
        State s;
        while (true) {
            s = state.get();
            if (s == State.CLOSING || s == State.CLOSED) {
                return;
            }
            if (s == State.OPENING) {
                throw new IllegalStateException("decision log " + directory + " is being opened; close it after"
                        + " open() returns");
            }
            if (state.compareAndSet(s, s == State.NEW ? State.CLOSED : State.CLOSING)) {
                break;
            }
        }
        if (s == State.NEW) {
            return;
        }
        Pending stop = new Pending(null, null, false, Control.CLOSE);
        try {
            while (writer.isAlive() && !queue.offer(stop, 20, TimeUnit.MILLISECONDS)) {
                // The writer is draining; wait for room.
            }
            writer.join(TimeUnit.SECONDS.toMillis(CLOSE_TIMEOUT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while closing decision log " + directory
                    + "; the lock is still held");
        }
        if (writer.isAlive()) {
            // Releasing the lock while a write may still land would let another coordinator in.
            throw new IOException("decision log " + directory + " writer did not finish within "
                    + CLOSE_TIMEOUT_SECONDS + " s (the disk may be hung); the lock is kept until this process exits");
        }
        failQueued(new IllegalStateException("decision log " + directory + " is closed; the record was not"
                + " appended"));
        closeQuietly(segment);
        releaseLock();
        state.set(State.CLOSED);
        if (s == State.OPEN && failure != null) {
            // The final force failed: appends that completed as LAZY may not be durable.
            throw failure;
        }
        log.info("Closed decision log {}", directory);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.warn("Closing a decision log file failed: {}", e.toString());
        }
    }
}
