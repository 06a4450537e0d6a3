package dev.pledge.coordinator.log;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The on-disk format of one {@link FileDecisionLog} segment file, and the scan that reads it back.
 *
 * <pre>
 * file   = header frame*  [zero bytes of preallocated space]
 * header = int magic "PLOG", short file format version, short reserved (0), long first sequence number
 * frame  = int word, int crc, payload
 *          word: bit 31 = SYNC mark, bits 0-30 = payload length in [2, MAX_RECORD_BYTES]
 *          crc:  CRC32C of the 4 bytes of word followed by the payload
 * </pre>
 *
 * <p>The SYNC mark is set on the first frame of a batch when every byte before that frame had been
 * forced to disk before the batch was written. It is what lets replay tell a torn tail (bytes of
 * a write that was never acknowledged as forced, which a crash may leave half on disk and in any
 * order of pages) from damage to durable data: a bad frame followed, anywhere later in the file,
 * by a valid SYNC-marked frame sits in bytes that were already durable.
 */
final class LogSegment {

    static final int MAGIC = ('P' << 24) | ('L' << 16) | ('O' << 8) | 'G';
    static final short FILE_FORMAT_VERSION = 1;
    static final int HEADER_BYTES = 16;
    static final int FRAME_HEADER_BYTES = 8;
    static final int SYNC_MARK = 0x8000_0000;
    static final int MIN_PAYLOAD_BYTES = 2;
    static final int MAX_FRAME_BYTES = FRAME_HEADER_BYTES + LogRecordCodec.MAX_RECORD_BYTES;

    static final String PREFIX = "segment-";
    static final String SUFFIX = ".log";
    static final String TEMP_SUFFIX = ".tmp";

    private LogSegment() {
    }

    static String fileName(long firstSequence) {
        return PREFIX + String.format("%020d", firstSequence) + SUFFIX;
    }

    /** The first sequence number encoded in a segment file name, or -1 if it is not a segment name. */
    static long firstSequenceOf(String fileName) {
        if (!fileName.startsWith(PREFIX) || !fileName.endsWith(SUFFIX)
                || fileName.length() != PREFIX.length() + 20 + SUFFIX.length()) {
            return -1;
        }
        String digits = fileName.substring(PREFIX.length(), PREFIX.length() + 20);
        for (int i = 0; i < digits.length(); i++) {
            if (!Character.isDigit(digits.charAt(i))) {
                return -1;
            }
        }
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static void putHeader(ByteBuffer buffer, long firstSequence) {
        buffer.putInt(MAGIC).putShort(FILE_FORMAT_VERSION).putShort((short) 0).putLong(firstSequence);
    }

    /** A complete frame for a record, SYNC mark clear. */
    static byte[] frame(LogRecord record) {
        return seal(LogRecordCodec.encode(record, FRAME_HEADER_BYTES), false);
    }

    static byte[] checkpointBeginFrame(long epoch, int commits, int heuristics, int completedTxids) {
        return seal(LogRecordCodec.encodeCheckpointBegin(epoch, commits, heuristics, completedTxids,
                FRAME_HEADER_BYTES), false);
    }

    static byte[] checkpointEndFrame(int commits, int heuristics, int completedTxids) {
        return seal(LogRecordCodec.encodeCheckpointEnd(commits, heuristics, completedTxids, FRAME_HEADER_BYTES),
                false);
    }

    /** Fills in the word and CRC of a frame whose payload starts at {@link #FRAME_HEADER_BYTES}. */
    static byte[] seal(byte[] frame, boolean syncMark) {
        int length = frame.length - FRAME_HEADER_BYTES;
        assert length >= MIN_PAYLOAD_BYTES && length <= LogRecordCodec.MAX_RECORD_BYTES : length;
        int word = length | (syncMark ? SYNC_MARK : 0);
        putInt(frame, 0, word);
        putInt(frame, 4, crc(frame, 0, frame, FRAME_HEADER_BYTES, length));
        return frame;
    }

    static boolean hasSyncMark(byte[] frame) {
        return (frame[0] & 0x80) != 0;
    }

    private static int crc(byte[] wordBytes, int wordOffset, byte[] payload, int payloadOffset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(wordBytes, wordOffset, 4);
        crc.update(payload, payloadOffset, length);
        return (int) crc.getValue();
    }

    /** A frame read back from a segment: its byte offset and decoded payload. */
    record Frame(int offset, LogRecordCodec.SegmentEntry entry) {
    }

    /**
     * The result of scanning one segment: the frames that read cleanly up to {@code validEnd}, and,
     * if the scan stopped on something other than end-of-file or preallocated zeros, why, and where
     * the last non-zero byte after that point ends.
     */
    record Scan(Path file, long firstSequence, List<Frame> frames, int validEnd, int fileSize,
                String problem, int damagedEnd) {
        boolean clean() {
            return problem == null;
        }
    }

    /**
     * Reads a whole segment. Header damage and CRC-valid payloads that do not decode are thrown at
     * once: neither can come from a torn write (the header is forced before the file is renamed
     * into place, and a torn write does not produce a matching CRC). Everything else is reported in
     * {@link Scan#problem()} for the caller to judge, because only the caller knows whether this is
     * the last segment.
     */
    static Scan scan(Path file, long expectedFirstSequence, byte[] content) throws CorruptLogException {
        String restore = "Restore the log directory from a backup, or ask for help; do not delete files by hand"
                + " unless you have a copy";
        if (content.length < HEADER_BYTES) {
            throw new CorruptLogException(file, 0, "the file is " + content.length + " bytes long, shorter than"
                    + " the " + HEADER_BYTES + "-byte segment header", restore);
        }
        ByteBuffer in = ByteBuffer.wrap(content);
        int magic = in.getInt();
        if (magic != MAGIC) {
            throw new CorruptLogException(file, 0, String.format("bad magic 0x%08x, expected 0x%08x (\"PLOG\");"
                    + " this is not a Pledge decision log segment", magic, MAGIC), restore);
        }
        short version = in.getShort();
        if (version != FILE_FORMAT_VERSION) {
            throw new CorruptLogException(file, 4, "segment file format version " + version
                    + " is not supported; this build reads version " + FILE_FORMAT_VERSION,
                    "Run the Pledge release that wrote this log");
        }
        short reserved = in.getShort();
        long firstSequence = in.getLong();
        if (reserved != 0 || firstSequence != expectedFirstSequence) {
            throw new CorruptLogException(file, 6, "header says first sequence " + firstSequence + " (reserved "
                    + reserved + ") but the file name says " + expectedFirstSequence, restore);
        }

        List<Frame> frames = new ArrayList<>();
        int offset = HEADER_BYTES;
        String problem = null;
        while (offset < content.length) {
            problem = checkFrame(content, offset);
            if (problem != null) {
                break;
            }
            int length = getInt(content, offset) & ~SYNC_MARK;
            try {
                frames.add(new Frame(offset, LogRecordCodec.decodeEntry(content, offset + FRAME_HEADER_BYTES, length)));
            } catch (LogFormatException e) {
                throw new CorruptLogException(file, offset, "the frame's checksum is correct but its payload cannot"
                        + " be read (" + e.getMessage() + ")", "If the log was written by another Pledge release,"
                        + " run that release; otherwise keep a copy of the directory and report a bug");
            }
            offset += FRAME_HEADER_BYTES + length;
        }
        if (problem != null && allZero(content, offset)) {
            // Preallocated space, or a write whose pages never reached the disk: either way nothing
            // was ever durable here, so this is simply where the log ends.
            problem = null;
        }
        return new Scan(file, firstSequence, frames, offset, content.length, problem,
                problem == null ? offset : lastNonZero(content) + 1);
    }

    /** Why the frame at {@code offset} is not a valid frame, or null if it is one (payload not decoded). */
    private static String checkFrame(byte[] content, int offset) {
        int available = content.length - offset;
        if (available < FRAME_HEADER_BYTES) {
            return "short frame: " + available + " bytes left, a frame header needs " + FRAME_HEADER_BYTES;
        }
        int length = getInt(content, offset) & ~SYNC_MARK;
        if (length < MIN_PAYLOAD_BYTES || length > LogRecordCodec.MAX_RECORD_BYTES) {
            return "frame length " + length + " is outside [" + MIN_PAYLOAD_BYTES + ", "
                    + LogRecordCodec.MAX_RECORD_BYTES + "]";
        }
        if (length > available - FRAME_HEADER_BYTES) {
            return "short frame: length " + length + " but only " + (available - FRAME_HEADER_BYTES)
                    + " bytes follow the header";
        }
        int stored = getInt(content, offset + 4);
        int actual = crc(content, offset, content, offset + FRAME_HEADER_BYTES, length);
        if (stored != actual) {
            return String.format("CRC32C mismatch (stored 0x%08x, computed 0x%08x)", stored, actual);
        }
        return null;
    }

    /**
     * The offset of the first valid, decodable, SYNC-marked frame starting after {@code from}, or -1.
     * Every offset is tried because the damaged frame's length field cannot be trusted to say where
     * the next frame starts. Cheap: almost every offset fails the SYNC bit or length check.
     */
    static int findSyncedFrame(byte[] content, int from) {
        for (int q = from + 1; q + FRAME_HEADER_BYTES + MIN_PAYLOAD_BYTES <= content.length; q++) {
            if ((content[q] & 0x80) == 0 || checkFrame(content, q) != null) {
                continue;
            }
            int length = getInt(content, q) & ~SYNC_MARK;
            try {
                LogRecordCodec.decodeEntry(content, q + FRAME_HEADER_BYTES, length);
                return q;
            } catch (LogFormatException e) {
                // A CRC match on bytes that do not decode is a coincidence inside other data; keep looking.
            }
        }
        return -1;
    }

    private static int lastNonZero(byte[] content) {
        int i = content.length - 1;
        while (i >= 0 && content[i] == 0) {
            i--;
        }
        return i;
    }

    static boolean allZero(byte[] content, int from) {
        for (int i = from; i < content.length; i++) {
            if (content[i] != 0) {
                return false;
            }
        }
        return true;
    }

    static int getInt(byte[] b, int offset) {
        return ((b[offset] & 0xff) << 24) | ((b[offset + 1] & 0xff) << 16) | ((b[offset + 2] & 0xff) << 8)
                | (b[offset + 3] & 0xff);
    }

    private static void putInt(byte[] b, int offset, int v) {
        b[offset] = (byte) (v >>> 24);
        b[offset + 1] = (byte) (v >>> 16);
        b[offset + 2] = (byte) (v >>> 8);
        b[offset + 3] = (byte) v;
    }
}
