package dev.pledge.coordinator.cluster;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.pledge.coordinator.log.LogFormatException;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.coordinator.log.LogRecordCodec;

/**
 * What one Ratis log entry of the decision log carries: a decision record (encoded with the shared
 * {@link LogRecordCodec}) or a barrier, plus the leader term the entry is fenced to.
 *
 * <pre>
 *   byte  entry format version (currently {@value #FORMAT_VERSION})
 *   byte  type                 (1 RECORD, 2 BARRIER, 3 BATCH)
 *   long  fence term           (0: unfenced; otherwise the entry is applied only if it was
 *                               appended to the Raft log in exactly this term; 0 for a BATCH)
 *   ...   RECORD only: a LogRecordCodec payload (it carries its own format version)
 *   ...   BATCH only: int count, then count times (int length, a complete RECORD entry)
 * </pre>
 * A BARRIER changes nothing; appending one and waiting until it is applied locally brings this
 * node's table up to everything the group had committed when the barrier was sent. A BATCH is
 * several RECORD entries that travel as one Raft entry (one client request, one replication, one
 * apply); each keeps its own fence term, so each is applied or fenced out on its own.
 */
record RaftEntry(Type type, long fenceTerm, LogRecord record) {

    static final byte FORMAT_VERSION = 1;
    static final int HEADER_BYTES = 1 + 1 + 8;
    /** Means "apply in whatever term the entry lands". */
    static final long UNFENCED = 0;

    enum Type {
        RECORD(1), BARRIER(2), BATCH(3);

        final byte code;

        Type(int code) {
            this.code = (byte) code;
        }
    }

    RaftEntry {
        if (fenceTerm < 0) {
            throw new IllegalArgumentException("fence term must not be negative: " + fenceTerm);
        }
        if ((type == Type.RECORD) != (record != null)) {
            throw new IllegalArgumentException("a RECORD entry carries exactly one record, a BARRIER none");
        }
        if (type == Type.BATCH) {
            throw new IllegalArgumentException("a BATCH decodes to its RECORD entries: see decodeAll");
        }
    }

    /**
     * Encodes a record entry.
     *
     * @throws IllegalArgumentException if the record breaks a bound of {@link LogRecordCodec}
     */
    static byte[] encodeRecord(LogRecord record, long fenceTerm) {
        byte[] payload = LogRecordCodec.encode(record);
        byte[] entry = Arrays.copyOf(header(Type.RECORD, fenceTerm), HEADER_BYTES + payload.length);
        System.arraycopy(payload, 0, entry, HEADER_BYTES, payload.length);
        return entry;
    }

    static byte[] encodeBarrier() {
        return header(Type.BARRIER, UNFENCED);
    }

    private static byte[] header(Type type, long fenceTerm) {
        if (fenceTerm < 0) {
            throw new IllegalArgumentException("fence term must not be negative: " + fenceTerm);
        }
        return ByteBuffer.allocate(HEADER_BYTES).put(FORMAT_VERSION).put(type.code).putLong(fenceTerm).array();
    }

    /**
     * Packs RECORD entries made by {@link #encodeRecord} into one BATCH entry, in order.
     *
     * @throws IllegalArgumentException if fewer than two entries are given
     */
    static byte[] encodeBatch(List<byte[]> recordEntries) {
        if (recordEntries.size() < 2) {
            throw new IllegalArgumentException("a batch holds at least two records, not " + recordEntries.size());
        }
        int size = HEADER_BYTES + 4;
        for (byte[] e : recordEntries) {
            size += 4 + e.length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).put(header(Type.BATCH, UNFENCED)).putInt(recordEntries.size());
        for (byte[] e : recordEntries) {
            out.putInt(e.length).put(e);
        }
        return out.array();
    }

    /** Decodes any entry into what it applies: one RECORD or BARRIER, or every RECORD of a BATCH in order. */
    static List<RaftEntry> decodeAll(byte[] entry) throws LogFormatException {
        if (entry.length < HEADER_BYTES || entry[1] != Type.BATCH.code) {
            return List.of(decode(entry));
        }
        ByteBuffer in = ByteBuffer.wrap(entry);
        checkVersion(in.get());
        in.get();
        if (in.getLong() != UNFENCED) {
            throw new LogFormatException("Raft batch entry has a fence term of its own; only its records have one");
        }
        if (in.remaining() < 4) {
            throw new LogFormatException("Raft batch entry ends before its record count");
        }
        int count = in.getInt();
        if (count < 2 || count > in.remaining() / (4 + HEADER_BYTES)) {
            throw new LogFormatException("Raft batch entry claims " + count + " records in " + in.remaining()
                    + " bytes");
        }
        List<RaftEntry> records = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            if (in.remaining() < 4) {
                throw new LogFormatException("Raft batch entry ends before the length of record " + i + " of " + count);
            }
            int length = in.getInt();
            if (length < HEADER_BYTES || length > in.remaining()) {
                throw new LogFormatException("record " + i + " of a Raft batch entry claims " + length + " bytes, "
                        + in.remaining() + " remain");
            }
            byte[] one = new byte[length];
            in.get(one);
            RaftEntry decoded = decode(one);
            if (decoded.type() != Type.RECORD) {
                throw new LogFormatException("record " + i + " of a Raft batch entry is a " + decoded.type());
            }
            records.add(decoded);
        }
        if (in.hasRemaining()) {
            throw new LogFormatException(in.remaining() + " unexpected bytes after the last record of a batch entry");
        }
        return records;
    }

    private static void checkVersion(byte version) throws LogFormatException {
        if (version != FORMAT_VERSION) {
            throw new LogFormatException("Raft entry format version " + version + " is not supported by this build,"
                    + " which reads version " + FORMAT_VERSION + "; the entry was written by a different Pledge"
                    + " release: run a release that reads it on every node");
        }
    }

    static RaftEntry decode(byte[] entry) throws LogFormatException {
        if (entry.length < HEADER_BYTES) {
            throw new LogFormatException("Raft entry of " + entry.length + " bytes is shorter than its "
                    + HEADER_BYTES + "-byte header");
        }
        ByteBuffer in = ByteBuffer.wrap(entry);
        checkVersion(in.get());
        byte type = in.get();
        long fenceTerm = in.getLong();
        if (fenceTerm < 0) {
            throw new LogFormatException("Raft entry has a negative fence term " + fenceTerm);
        }
        if (type == Type.BARRIER.code) {
            if (in.hasRemaining()) {
                throw new LogFormatException(in.remaining() + " unexpected bytes after a barrier entry");
            }
            return new RaftEntry(Type.BARRIER, fenceTerm, null);
        }
        if (type == Type.RECORD.code) {
            return new RaftEntry(Type.RECORD, fenceTerm,
                    LogRecordCodec.decode(Arrays.copyOfRange(entry, HEADER_BYTES, entry.length)));
        }
        throw new LogFormatException("unknown Raft entry type " + type + "; the entry was written by a different"
                + " Pledge release");
    }

    /** True when the entry may change the table, given the term in which it was appended to the log. */
    boolean appliesIn(long entryTerm) {
        return fenceTerm == UNFENCED || fenceTerm == entryTerm;
    }
}
