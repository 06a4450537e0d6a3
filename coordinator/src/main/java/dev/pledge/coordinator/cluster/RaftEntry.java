package dev.pledge.coordinator.cluster;

import java.nio.ByteBuffer;
import java.util.Arrays;

import dev.pledge.coordinator.log.LogFormatException;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.coordinator.log.LogRecordCodec;

/**
 * What one Ratis log entry of the decision log carries: a decision record (encoded with the shared
 * {@link LogRecordCodec}) or a barrier, plus the leader term the entry is fenced to.
 *
 * <pre>
 *   byte  entry format version (currently {@value #FORMAT_VERSION})
 *   byte  type                 (1 RECORD, 2 BARRIER)
 *   long  fence term           (0: unfenced; otherwise the entry is applied only if it was
 *                               appended to the Raft log in exactly this term)
 *   ...   RECORD only: a LogRecordCodec payload (it carries its own format version)
 * </pre>
 * A BARRIER changes nothing; appending one and waiting until it is applied locally brings this
 * node's table up to everything the group had committed when the barrier was sent.
 */
record RaftEntry(Type type, long fenceTerm, LogRecord record) {

    static final byte FORMAT_VERSION = 1;
    static final int HEADER_BYTES = 1 + 1 + 8;
    /** Means "apply in whatever term the entry lands". */
    static final long UNFENCED = 0;

    enum Type {
        RECORD(1), BARRIER(2);

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

    static RaftEntry decode(byte[] entry) throws LogFormatException {
        if (entry.length < HEADER_BYTES) {
            throw new LogFormatException("Raft entry of " + entry.length + " bytes is shorter than its "
                    + HEADER_BYTES + "-byte header");
        }
        ByteBuffer in = ByteBuffer.wrap(entry);
        byte version = in.get();
        if (version != FORMAT_VERSION) {
            throw new LogFormatException("Raft entry format version " + version + " is not supported by this build,"
                    + " which reads version " + FORMAT_VERSION + "; the entry was written by a different Pledge"
                    + " release: run a release that reads it on every node");
        }
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
