package dev.pledge.coordinator.log;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Versioned binary encoding of {@link LogRecord}s, shared by every {@link DecisionLog} implementation.
 *
 * <p>Payload layout, big-endian ({@link java.io.DataOutput} conventions):
 * <pre>
 *   byte  format version   (currently {@value #FORMAT_VERSION})
 *   byte  kind             (1 EPOCH, 2 COMMIT, 3 COMPLETED, 4 HEURISTIC; 100/101 file-log checkpoint markers)
 *   ...   fields of the kind, in declaration order:
 *         EPOCH      long epoch
 *         COMMIT     str txid, long decidedAtMillis, short n, n x (str branchId, str resource, str callbackUrl)
 *         COMPLETED  int n, n x str txid
 *         HEURISTIC  version 2: str id, str txid, str branchId, str resource, str xid, str action,
 *                    str operator, str reason, byte force (0|1), long atMillis, str outcome
 *                    version 1: str txid, str branchId, str resource, str action, str operator,
 *                    str reason, long atMillis, str outcome
 *         CHECKPOINT_BEGIN / CHECKPOINT_END (file log only)
 *                    long epoch (BEGIN only), int commits, int heuristics, int completedTxids
 *   str = short byte length (-1 for null) followed by that many bytes of UTF-8
 * </pre>
 * A reader accepts exactly the versions it knows and fails loudly on anything else, so a log
 * written by a newer Pledge is never half-understood by an older one. A new field or kind means a
 * new format version; decoders keep reading every older version. The version is per record:
 * version 2 changed only the HEURISTIC layout, so HEURISTIC records are written as version 2 and
 * every other kind still as version 1 (the two versions agree on those).
 *
 * <p>Every size is bounded so that a damaged length field can never make a reader allocate
 * gigabytes, and so that one record cannot monopolise a batch.
 */
public final class LogRecordCodec {

    public static final byte FORMAT_VERSION = 1;
    /** The version HEURISTIC records are written with (id, xid and force added). */
    public static final byte HEURISTIC_FORMAT_VERSION = 2;
    /** Largest encoded payload; bigger records are refused at append time. */
    public static final int MAX_RECORD_BYTES = 1 << 20;
    /** Largest UTF-8 encoding of any single string field. */
    public static final int MAX_STRING_BYTES = 4 << 10;
    /** Most branches in one COMMIT record. */
    public static final int MAX_BRANCHES = 1024;
    /** Most txids in one COMPLETED record; the engine batches completions below this. */
    public static final int MAX_COMPLETED_TXIDS = 16_384;
    /** Upper bound on the entries a checkpoint claims, a sanity bound for damaged counts. */
    static final int MAX_CHECKPOINT_ENTRIES = 50_000_000;

    static final byte KIND_EPOCH = 1;
    static final byte KIND_COMMIT = 2;
    static final byte KIND_COMPLETED = 3;
    static final byte KIND_HEURISTIC = 4;
    /** File-log only: first entry of every segment; the table state follows as COMMIT/HEURISTIC copies. */
    static final byte KIND_CHECKPOINT_BEGIN = 100;
    /** File-log only: closes the checkpoint, repeating its counts. */
    static final byte KIND_CHECKPOINT_END = 101;

    private LogRecordCodec() {
    }

    /**
     * Encodes a record.
     *
     * @throws IllegalArgumentException if a field breaks a bound ({@link #MAX_STRING_BYTES},
     *     {@link #MAX_BRANCHES}, {@link #MAX_COMPLETED_TXIDS}, {@link #MAX_RECORD_BYTES}) or a string
     *     is not valid Unicode (an unpaired surrogate would not survive a round trip)
     */
    public static byte[] encode(LogRecord record) {
        return encode(record, 0);
    }

    /**
     * Decodes a payload produced by {@link #encode}. Checkpoint markers, which only the file log
     * writes, are refused here.
     */
    public static LogRecord decode(byte[] payload) throws LogFormatException {
        SegmentEntry entry = decodeEntry(payload, 0, payload.length);
        if (entry instanceof SegmentEntry.Decision d) {
            return d.record();
        }
        throw new LogFormatException("payload is a file-log checkpoint marker (" + entry + "), not a decision record");
    }

    /** What one payload of a file-log segment holds. */
    sealed interface SegmentEntry {
        record Decision(LogRecord record) implements SegmentEntry {
        }

        /**
         * Announces the checkpoint entries that follow: {@code commits} COMMIT copies, then
         * {@code heuristics} HEURISTIC copies, then COMPLETED records naming {@code completedTxids}
         * txids in all (the table's remembered completions, not removals).
         */
        record CheckpointBegin(long epoch, int commits, int heuristics, int completedTxids) implements SegmentEntry {
        }

        record CheckpointEnd(int commits, int heuristics, int completedTxids) implements SegmentEntry {
        }
    }

    /** Encodes with {@code headroom} unused bytes in front, so the file log can put its frame header there without a copy. */
    static byte[] encode(LogRecord record, int headroom) {
        Writer out = new Writer(headroom);
        out.putByte(record instanceof LogRecord.Heuristic ? HEURISTIC_FORMAT_VERSION : FORMAT_VERSION);
        // Java 17: no pattern matching in switch yet
        if (record instanceof LogRecord.Epoch e) {
            out.putByte(KIND_EPOCH);
            out.putLong(e.epoch());
        } else if (record instanceof LogRecord.Commit c) {
            out.putByte(KIND_COMMIT);
            out.putString("txid", c.txid());
            out.putLong(c.decidedAtMillis());
            if (c.branches().size() > MAX_BRANCHES) {
                throw new IllegalArgumentException("COMMIT " + c.txid() + " has " + c.branches().size()
                        + " branches; at most " + MAX_BRANCHES + " fit in one record");
            }
            out.putShort(c.branches().size());
            for (LogRecord.Branch b : c.branches()) {
                out.putString("branchId", b.branchId());
                out.putString("resource", b.resource());
                out.putString("callbackUrl", b.callbackUrl());
            }
        } else if (record instanceof LogRecord.Completed c) {
            out.putByte(KIND_COMPLETED);
            if (c.txids().size() > MAX_COMPLETED_TXIDS) {
                throw new IllegalArgumentException("COMPLETED lists " + c.txids().size()
                        + " txids; at most " + MAX_COMPLETED_TXIDS + " fit in one record, split the batch");
            }
            out.putInt(c.txids().size());
            for (String txid : c.txids()) {
                out.putString("txid", txid);
            }
        } else if (record instanceof LogRecord.Heuristic h) {
            out.putByte(KIND_HEURISTIC);
            out.putString("id", h.id());
            out.putString("txid", h.txid());
            out.putString("branchId", h.branchId());
            out.putString("resource", h.resource());
            out.putString("xid", h.xid());
            out.putString("action", h.action());
            out.putString("operator", h.operator());
            out.putString("reason", h.reason());
            out.putByte((byte) (h.force() ? 1 : 0));
            out.putLong(h.atMillis());
            out.putString("outcome", h.outcome());
        } else {
            throw new IllegalArgumentException("unknown record kind " + record.getClass().getName());
        }
        return out.finish();
    }

    static byte[] encodeCheckpointBegin(long epoch, int commits, int heuristics, int completedTxids, int headroom) {
        Writer out = new Writer(headroom);
        out.putByte(FORMAT_VERSION);
        out.putByte(KIND_CHECKPOINT_BEGIN);
        out.putLong(epoch);
        out.putInt(commits);
        out.putInt(heuristics);
        out.putInt(completedTxids);
        return out.finish();
    }

    static byte[] encodeCheckpointEnd(int commits, int heuristics, int completedTxids, int headroom) {
        Writer out = new Writer(headroom);
        out.putByte(FORMAT_VERSION);
        out.putByte(KIND_CHECKPOINT_END);
        out.putInt(commits);
        out.putInt(heuristics);
        out.putInt(completedTxids);
        return out.finish();
    }

    static SegmentEntry decodeEntry(byte[] bytes, int offset, int length) throws LogFormatException {
        if (length > MAX_RECORD_BYTES) {
            throw new LogFormatException("payload of " + length + " bytes exceeds the limit of " + MAX_RECORD_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        try {
            byte version = in.get();
            if (version != FORMAT_VERSION && version != HEURISTIC_FORMAT_VERSION) {
                throw new LogFormatException("record format version " + version + " is not supported by this build,"
                        + " which reads versions " + FORMAT_VERSION + " and " + HEURISTIC_FORMAT_VERSION + "; the log was written by a different Pledge"
                        + " release: run a release that reads format " + version);
            }
            byte kind = in.get();
            SegmentEntry entry = switch (kind) {
                case KIND_EPOCH -> new SegmentEntry.Decision(new LogRecord.Epoch(in.getLong()));
                case KIND_COMMIT -> new SegmentEntry.Decision(readCommit(in));
                case KIND_COMPLETED -> new SegmentEntry.Decision(readCompleted(in));
                case KIND_HEURISTIC -> new SegmentEntry.Decision(readHeuristic(in, version));
                case KIND_CHECKPOINT_BEGIN -> new SegmentEntry.CheckpointBegin(
                        nonNegativeLong(in.getLong(), "checkpoint epoch"),
                        count(in.getInt(), MAX_CHECKPOINT_ENTRIES, "checkpoint commits"),
                        count(in.getInt(), MAX_CHECKPOINT_ENTRIES, "checkpoint heuristics"),
                        count(in.getInt(), MAX_CHECKPOINT_ENTRIES, "checkpoint completed txids"));
                case KIND_CHECKPOINT_END -> new SegmentEntry.CheckpointEnd(
                        count(in.getInt(), MAX_CHECKPOINT_ENTRIES, "checkpoint commits"),
                        count(in.getInt(), MAX_CHECKPOINT_ENTRIES, "checkpoint heuristics"),
                        count(in.getInt(), MAX_CHECKPOINT_ENTRIES, "checkpoint completed txids"));
                default -> throw new LogFormatException("unknown record kind " + kind + " in format version "
                        + version + "; the log was written by a different Pledge release");
            };
            if (in.hasRemaining()) {
                throw new LogFormatException(in.remaining() + " unexpected bytes after the end of a kind " + kind
                        + " record");
            }
            return entry;
        } catch (BufferUnderflowException e) {
            throw new LogFormatException("payload of " + length + " bytes ends in the middle of a field", e);
        } catch (NullPointerException | IllegalArgumentException e) {
            // The record constructors enforce their own invariants (non-null txid, positive epoch...).
            throw new LogFormatException("payload decodes to an invalid record: " + e.getMessage(), e);
        }
    }

    private static LogRecord.Commit readCommit(ByteBuffer in) throws LogFormatException {
        String txid = getString(in, "txid");
        long decidedAt = in.getLong();
        int n = count(in.getShort(), MAX_BRANCHES, "branches");
        List<LogRecord.Branch> branches = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            branches.add(new LogRecord.Branch(getString(in, "branchId"), getString(in, "resource"),
                    getString(in, "callbackUrl")));
        }
        return new LogRecord.Commit(txid, branches, decidedAt);
    }

    /** Version 1 had no id, xid or force: such a record reads as an unforced action on this cluster's XID. */
    private static LogRecord.Heuristic readHeuristic(ByteBuffer in, byte version) throws LogFormatException {
        boolean v2 = version == HEURISTIC_FORMAT_VERSION;
        String id = v2 ? getString(in, "id") : null;
        String txid = getString(in, "txid");
        String branchId = getString(in, "branchId");
        String resource = getString(in, "resource");
        String xid = v2 ? getString(in, "xid") : null;
        String action = getString(in, "action");
        String operator = getString(in, "operator");
        String reason = getString(in, "reason");
        byte force = v2 ? in.get() : 0;
        if (force != 0 && force != 1) {
            throw new LogFormatException("HEURISTIC force flag is " + force + ", not 0 or 1");
        }
        return new LogRecord.Heuristic(id, txid, branchId, resource, xid, action, operator, reason, force == 1,
                in.getLong(), getString(in, "outcome"));
    }

    private static LogRecord.Completed readCompleted(ByteBuffer in) throws LogFormatException {
        int n = count(in.getInt(), MAX_COMPLETED_TXIDS, "completed txids");
        List<String> txids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            txids.add(getString(in, "txid"));
        }
        return new LogRecord.Completed(txids);
    }

    private static int count(int n, int max, String what) throws LogFormatException {
        if (n < 0 || n > max) {
            throw new LogFormatException("count of " + what + " is " + n + ", outside [0, " + max + "]");
        }
        return n;
    }

    private static long nonNegativeLong(long v, String what) throws LogFormatException {
        if (v < 0) {
            throw new LogFormatException(what + " is negative: " + v);
        }
        return v;
    }

    private static String getString(ByteBuffer in, String field) throws LogFormatException {
        int length = in.getShort();
        if (length == -1) {
            return null;
        }
        if (length < 0 || length > MAX_STRING_BYTES) {
            throw new LogFormatException("string field " + field + " has length " + length + ", outside [0, "
                    + MAX_STRING_BYTES + "]");
        }
        ByteBuffer slice = in.slice(in.position(), length);
        in.position(in.position() + length);
        try {
            // newDecoder() reports malformed input instead of replacing it: a CRC-valid but
            // malformed string means a codec bug or format skew, and must not be papered over.
            return StandardCharsets.UTF_8.newDecoder().decode(slice).toString();
        } catch (CharacterCodingException e) {
            throw new LogFormatException("string field " + field + " is not valid UTF-8", e);
        }
    }

    /** Minimal growable big-endian writer; DataOutputStream would add locking and modified UTF-8. */
    private static final class Writer {
        private final int headroom;
        private byte[] buf;
        private int pos;

        Writer(int headroom) {
            this.headroom = headroom;
            buf = new byte[headroom + 128];
            pos = headroom;
        }

        void putByte(int v) {
            ensure(1);
            buf[pos++] = (byte) v;
        }

        void putShort(int v) {
            ensure(2);
            buf[pos++] = (byte) (v >>> 8);
            buf[pos++] = (byte) v;
        }

        void putInt(int v) {
            ensure(4);
            buf[pos++] = (byte) (v >>> 24);
            buf[pos++] = (byte) (v >>> 16);
            buf[pos++] = (byte) (v >>> 8);
            buf[pos++] = (byte) v;
        }

        void putLong(long v) {
            putInt((int) (v >>> 32));
            putInt((int) v);
        }

        void putString(String field, String s) {
            if (s == null) {
                putShort(-1);
                return;
            }
            requireWellFormed(field, s);
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            if (utf8.length > MAX_STRING_BYTES) {
                throw new IllegalArgumentException("field " + field + " is " + utf8.length
                        + " bytes of UTF-8; at most " + MAX_STRING_BYTES + " are allowed");
            }
            putShort(utf8.length);
            ensure(utf8.length);
            System.arraycopy(utf8, 0, buf, pos, utf8.length);
            pos += utf8.length;
        }

        byte[] finish() {
            return pos == buf.length ? buf : Arrays.copyOf(buf, pos);
        }

        private void ensure(int n) {
            if (pos + n > buf.length) {
                int needed = pos + n;
                if (needed - headroom > MAX_RECORD_BYTES) {
                    throw new IllegalArgumentException("record encodes to more than " + MAX_RECORD_BYTES
                            + " bytes, the limit for one decision log record");
                }
                buf = Arrays.copyOf(buf, Math.max(needed, buf.length * 2));
            }
        }

        private static void requireWellFormed(String field, String s) {
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else if (Character.isSurrogate(c)) {
                    throw new IllegalArgumentException("field " + field + " contains an unpaired surrogate at index "
                            + i + "; it cannot be stored as UTF-8");
                }
            }
        }
    }
}
