package dev.pledge.coordinator.cluster;

import java.io.IOException;

/**
 * A {@link RaftDecisionLog} append whose outcome is not known: the record may or may not be
 * committed (safety rule S2). The transaction stays undecided; whoever can read the log later (a
 * ready leader) decides. The message names the record, this peer and what happened.
 */
public class AppendOutcomeUnknownException extends IOException {

    public AppendOutcomeUnknownException(String message, Throwable cause) {
        super(message, cause);
    }
}
