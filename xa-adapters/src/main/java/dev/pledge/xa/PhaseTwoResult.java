package dev.pledge.xa;

/**
 * What happened to one phase-2 commit or rollback of a prepared branch, classified by safety rule S6
 * ({@link XaErrors#classify}).
 *
 * @param outcome     the classification
 * @param commit      true for a commit, false for a rollback
 * @param xaErrorCode the {@code XAException.errorCode}, or null when the call succeeded or failed
 *                    without an XAException (e.g. no connection)
 * @param forgotten   for heuristic outcomes: whether {@code forget(xid)} succeeded afterwards
 * @param message     for a person: resource, what happened, what to do next; null for DONE
 */
public record PhaseTwoResult(Outcome outcome, boolean commit, Integer xaErrorCode, boolean forgotten, String message) {

    public enum Outcome {
        /** The resource committed (or rolled back) the branch now. */
        DONE,
        /**
         * XAER_NOTA: the resource does not know the branch. On commit S6 says "already committed"
         * ({@link #assumedCommitted()}); on rollback, "already rolled back".
         */
        ALREADY_DONE_NOTA,
        /** Not done, nothing lost: try again later (XA_RETRY, XAER_RMFAIL, XAER_RMERR, no connection...). */
        RETRY,
        /** The resource decided on its own and committed. */
        HEURISTIC_COMMIT,
        /** The resource decided on its own and rolled back (also XA_RB* on commit: the branch was rolled back). */
        HEURISTIC_ROLLBACK,
        /** Part committed, part rolled back. */
        HEURISTIC_MIXED,
        /** The outcome may be any of the above; nobody knows. */
        HEURISTIC_HAZARD
    }

    public static PhaseTwoResult done(boolean commit) {
        return new PhaseTwoResult(Outcome.DONE, commit, null, false, null);
    }

    public static PhaseTwoResult retry(boolean commit, Integer xaErrorCode, String message) {
        return new PhaseTwoResult(Outcome.RETRY, commit, xaErrorCode, false, message);
    }

    /** XAER_NOTA on commit: recorded as "assumed committed" so an operator can see it (S6). */
    public boolean assumedCommitted() {
        return commit && outcome == Outcome.ALREADY_DONE_NOTA;
    }

    /** True for every HEURISTIC_* outcome: record it and surface it to an operator. */
    public boolean heuristic() {
        return outcome == Outcome.HEURISTIC_COMMIT || outcome == Outcome.HEURISTIC_ROLLBACK
                || outcome == Outcome.HEURISTIC_MIXED || outcome == Outcome.HEURISTIC_HAZARD;
    }

    /** The resource no longer holds the branch as prepared (or holds only a heuristic record): stop retrying. */
    public boolean finished() {
        return outcome != Outcome.RETRY;
    }

    /**
     * The branch ended the way the decision said: DONE, NOTA, or a heuristic outcome that happens to
     * match (heuristic commit of a commit, heuristic rollback of a rollback).
     */
    public boolean matchesDecision() {
        switch (outcome) {
            case DONE:
            case ALREADY_DONE_NOTA:
                return true;
            case HEURISTIC_COMMIT:
                return commit;
            case HEURISTIC_ROLLBACK:
                return !commit;
            default:
                return false;
        }
    }

    PhaseTwoResult withForgotten(boolean forgotten) {
        return new PhaseTwoResult(outcome, commit, xaErrorCode, forgotten, message);
    }

    PhaseTwoResult withMessage(String message) {
        return new PhaseTwoResult(outcome, commit, xaErrorCode, forgotten, message);
    }
}
