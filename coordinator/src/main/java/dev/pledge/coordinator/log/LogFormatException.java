package dev.pledge.coordinator.log;

import java.io.IOException;

/**
 * A payload that {@link LogRecordCodec} cannot turn into a record: unknown format version or kind,
 * a field out of its bounds, or bytes that end too early or too late. It does not know where the
 * payload came from; {@link FileDecisionLog} wraps it into a {@link CorruptLogException} that names
 * the file and offset.
 */
public class LogFormatException extends IOException {

    public LogFormatException(String message) {
        super(message);
    }

    public LogFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
