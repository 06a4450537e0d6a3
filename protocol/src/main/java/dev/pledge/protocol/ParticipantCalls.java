package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

/** Bodies of the participant callbacks ({@code {callbackUrl}/prepare|commit|rollback}). */
public final class ParticipantCalls {
    private ParticipantCalls() {
    }

    public static final String PREPARE = "/prepare";
    public static final String COMMIT = "/commit";
    public static final String ROLLBACK = "/rollback";
    /**
     * Request header: when the coordinator made the call (ISO-8601 instant, its system clock), so a participant's
     * log shows how long a call waited on the way and which calls a node made before or after an instant.
     */
    public static final String SENT_AT_HEADER = "Pledge-Sent-At";

    public record PrepareRequest(String txid, String branchId) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record VoteResponse(Vote vote, String reason) {
    }

    public record PhaseTwoRequest(String txid, String branchId, boolean onePhase) {
    }

    public record RollbackRequest(String txid, String branchId) {
    }

    /** outcome: COMMITTED, ROLLED_BACK or UNKNOWN_BRANCH. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record PhaseTwoResponse(String outcome, String reason) {
        public static final String COMMITTED = "COMMITTED";
        public static final String ROLLED_BACK = "ROLLED_BACK";
        public static final String UNKNOWN_BRANCH = "UNKNOWN_BRANCH";
    }
}
