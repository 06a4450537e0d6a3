package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The decision log on disk is damaged somewhere a crash cannot explain, so the coordinator refuses
 * to start rather than guess: dropping a durable COMMIT record would let the orphan scanner roll
 * back branches that were promised a commit. The message names the file, the byte offset and what
 * an operator can do next.
 */
public final class CorruptLogException extends IOException {
    private final Path file;
    private final long offset;

    public CorruptLogException(Path file, long offset, String detail, String nextStep) {
        super("decision log file " + file + " is damaged at byte offset " + offset + ": " + detail
                + ". The coordinator will not start on a damaged log. " + nextStep);
        this.file = file;
        this.offset = offset;
    }

    /** The damaged segment file. */
    public Path file() {
        return file;
    }

    /** Byte offset in {@link #file()} of the first damaged frame. */
    public long offset() {
        return offset;
    }
}
