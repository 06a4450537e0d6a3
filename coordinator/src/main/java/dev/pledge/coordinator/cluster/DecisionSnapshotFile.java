package dev.pledge.coordinator.cluster;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

import dev.pledge.coordinator.log.DecisionTable;
import dev.pledge.coordinator.log.LogFormatException;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.coordinator.log.LogRecordCodec;

/**
 * The snapshot of a {@link DecisionTable} that the Raft state machine writes, so that Ratis can
 * purge its log and ship the state to a follower that fell behind.
 *
 * <pre>
 *   8 bytes  magic "PLDGSNAP"
 *   int      snapshot format version (currently {@value #FORMAT_VERSION})
 *   long     term, long index      (last entry included; must match the file name)
 *   long     epoch
 *   int      commits, int heuristics, int completedTxids
 *   frames   int length + LogRecordCodec payload: the pending COMMIT records in table order, then
 *            the HEURISTIC records in order, then COMPLETED records listing the remembered
 *            completions, oldest first (a table's memory of them, not removals)
 *   int      CRC32C of every byte before it
 * </pre>
 * Reusing the record codec keeps one encoding of a decision; the counts and the CRC make a torn or
 * damaged file fail loudly instead of loading as a smaller table. Ratis keeps an MD5 next to each
 * snapshot as well and checks it when it ships the file to a follower.
 */
final class DecisionSnapshotFile {

    static final int FORMAT_VERSION = 1;
    private static final byte[] MAGIC = "PLDGSNAP".getBytes(StandardCharsets.US_ASCII);
    /** Sanity bound for damaged counts; a table this large means phase 2 stopped completing long ago. */
    static final int MAX_ENTRIES = 50_000_000;
    /** Snapshots are read whole; past this size something is wrong long before memory is. */
    static final long MAX_FILE_BYTES = 1L << 30;
    private static final int HEADER_BYTES = 8 + 4 + 8 + 8 + 8 + 4 + 4 + 4;
    /** Keep each COMPLETED frame well under the codec's record limit even with 4 KiB txids. */
    private static final int COMPLETED_FRAME_BUDGET_BYTES = LogRecordCodec.MAX_RECORD_BYTES / 4;

    /** What a snapshot holds. */
    record Contents(long term, long index, long epoch, List<LogRecord.Commit> commits,
                    List<LogRecord.Heuristic> heuristics, List<String> completedTxids) {

        static Contents of(DecisionTable table, long term, long index) {
            return new Contents(term, index, table.epoch(), table.pendingCommits(), table.heuristics(),
                    table.recentlyCompletedTxids());
        }

        void loadInto(DecisionTable table) {
            table.reset(epoch, commits, heuristics, completedTxids);
        }
    }

    private DecisionSnapshotFile() {
    }

    /**
     * Writes the snapshot under a temporary name, forces it, renames it to {@code file} and forces
     * the directory: Ratis purges the log up to the snapshot as soon as this returns.
     */
    static void write(Path file, Contents contents) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        CRC32C crc = new CRC32C();
        try (OutputStream raw = Files.newOutputStream(tmp);
             CheckedOutputStream checked = new CheckedOutputStream(new BufferedOutputStream(raw, 64 << 10), crc);
             DataOutputStream out = new DataOutputStream(checked)) {
            out.write(MAGIC);
            out.writeInt(FORMAT_VERSION);
            out.writeLong(contents.term());
            out.writeLong(contents.index());
            out.writeLong(contents.epoch());
            List<List<String>> completedFrames = completedFrames(contents.completedTxids());
            out.writeInt(contents.commits().size());
            out.writeInt(contents.heuristics().size());
            out.writeInt(contents.completedTxids().size());
            for (LogRecord.Commit c : contents.commits()) {
                writeFrame(out, c);
            }
            for (LogRecord.Heuristic h : contents.heuristics()) {
                writeFrame(out, h);
            }
            for (List<String> txids : completedFrames) {
                writeFrame(out, new LogRecord.Completed(txids));
            }
            out.flush();
            new DataOutputStream(raw).writeInt((int) crc.getValue());
        }
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        forceDirectory(file.getParent());
    }

    /**
     * Reads and checks a snapshot: the CRC first (so damage is reported as damage, not as whatever
     * a decoder makes of the damaged bytes), then every frame and count.
     */
    static Contents read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw damaged(file, "it is " + size + " bytes, more than the " + MAX_FILE_BYTES + " a snapshot may have");
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length < HEADER_BYTES + 4) {
            throw damaged(file, "it is only " + bytes.length + " bytes long (torn write?)");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        int storedCrc = ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt();
        if (storedCrc != (int) crc.getValue()) {
            throw damaged(file, "its CRC32C does not match its content (torn write or damage)");
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 4));
        try {
            byte[] magic = in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw damaged(file, "it does not start with the snapshot magic bytes");
            }
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                throw new LogFormatException("decision snapshot " + file + " has format version " + version
                        + ", this build reads version " + FORMAT_VERSION + "; it was written by a different Pledge"
                        + " release: run a release that reads it");
            }
            long term = in.readLong();
            long index = in.readLong();
            long epoch = in.readLong();
            int commits = count(file, in.readInt(), "commits");
            int heuristics = count(file, in.readInt(), "heuristics");
            int completed = count(file, in.readInt(), "completed txids");
            List<LogRecord.Commit> commitList = new ArrayList<>(Math.min(commits, 1 << 16));
            for (int i = 0; i < commits; i++) {
                commitList.add(readFrame(file, in, LogRecord.Commit.class));
            }
            List<LogRecord.Heuristic> heuristicList = new ArrayList<>(Math.min(heuristics, 1 << 16));
            for (int i = 0; i < heuristics; i++) {
                heuristicList.add(readFrame(file, in, LogRecord.Heuristic.class));
            }
            List<String> completedList = new ArrayList<>(Math.min(completed, 1 << 16));
            while (completedList.size() < completed) {
                completedList.addAll(readFrame(file, in, LogRecord.Completed.class).txids());
            }
            if (completedList.size() != completed) {
                throw damaged(file, "it lists " + completedList.size() + " completed txids, its header says "
                        + completed);
            }
            if (in.available() != 0) {
                throw damaged(file, in.available() + " unexpected bytes follow its last frame");
            }
            return new Contents(term, index, epoch, commitList, heuristicList, completedList);
        } catch (EOFException e) {
            throw damaged(file, "its frames end before its counts say they should");
        }
    }

    private static List<List<String>> completedFrames(List<String> txids) {
        List<List<String>> frames = new ArrayList<>();
        List<String> frame = new ArrayList<>();
        int bytes = 0;
        for (String txid : txids) {
            int size = 2 + txid.getBytes(StandardCharsets.UTF_8).length;
            if (!frame.isEmpty() && (bytes + size > COMPLETED_FRAME_BUDGET_BYTES
                    || frame.size() == LogRecordCodec.MAX_COMPLETED_TXIDS)) {
                frames.add(frame);
                frame = new ArrayList<>();
                bytes = 0;
            }
            frame.add(txid);
            bytes += size;
        }
        if (!frame.isEmpty()) {
            frames.add(frame);
        }
        return frames;
    }

    private static void writeFrame(DataOutputStream out, LogRecord record) throws IOException {
        byte[] payload = LogRecordCodec.encode(record);
        out.writeInt(payload.length);
        out.write(payload);
    }

    private static <T extends LogRecord> T readFrame(Path file, DataInputStream in, Class<T> kind) throws IOException {
        int length = in.readInt();
        if (length <= 0 || length > LogRecordCodec.MAX_RECORD_BYTES) {
            throw damaged(file, "a frame claims " + length + " bytes, outside [1, " + LogRecordCodec.MAX_RECORD_BYTES
                    + "]");
        }
        byte[] payload = in.readNBytes(length);
        if (payload.length != length) {
            throw new EOFException();
        }
        LogRecord record;
        try {
            record = LogRecordCodec.decode(payload);
        } catch (LogFormatException e) {
            throw damaged(file, "a frame does not decode: " + e.getMessage());
        }
        if (!kind.isInstance(record)) {
            throw damaged(file, "expected a " + kind.getSimpleName() + " frame, found " + record.getClass().getSimpleName());
        }
        return kind.cast(record);
    }

    private static int count(Path file, int n, String what) throws LogFormatException {
        if (n < 0 || n > MAX_ENTRIES) {
            throw damaged(file, "its count of " + what + " is " + n + ", outside [0, " + MAX_ENTRIES + "]");
        }
        return n;
    }

    private static LogFormatException damaged(Path file, String what) {
        return new LogFormatException("decision snapshot " + file + " is damaged: " + what + ". If the rest of the"
                + " group is healthy, replace this node (remove it from the group, then add a node with empty"
                + " storage under a new peer id: the leader sends it a snapshot); otherwise restore the storage"
                + " directory from a backup");
    }

    private static void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Some file systems refuse to open a directory; the rename is still ordered after the data.
        }
    }
}
