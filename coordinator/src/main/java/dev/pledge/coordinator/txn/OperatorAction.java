package dev.pledge.coordinator.txn;

import dev.pledge.protocol.BranchState;

import java.util.Locale;
import java.util.Optional;

/**
 * An operator's heuristic action on one prepared branch (API.md, {@code POST /api/v1/admin/heuristic}),
 * and what it makes of the branch: one mapping, used both when the action runs and when a restarted
 * coordinator replays its result from the decision log, so the two can never disagree.
 */
public enum OperatorAction {
    /** XA commit of the branch at its resource. */
    COMMIT,
    /** XA rollback of the branch at its resource. */
    ROLLBACK,
    /** XA forget at the resource, and the coordinator stops driving the branch. */
    FORGET;

    /** The recorded outcome of a FORGET that asked no resource: only the coordinator forgot the branch. */
    public static final String COORDINATOR_ONLY = "COORDINATOR_ONLY";
    /** Prefix of the recorded outcome of an action that did not complete at its resource. */
    private static final String FAILED = "FAILED: ";

    /** The outcome a result record keeps: the resource's answer, or {@link #COORDINATOR_ONLY} for none. */
    public static String outcomeOf(XaBridge.Result result) {
        return result == null ? COORDINATOR_ONLY : result.name();
    }

    /** The outcome a result record keeps for an action that did not complete at its resource. */
    public static String failedOutcome(String why) {
        return FAILED + why;
    }

    /** Why the action did not complete, or empty when the recorded outcome says it did. */
    public static Optional<String> failure(String outcome) {
        return outcome.startsWith(FAILED) ? Optional.of(outcome.substring(FAILED.length())) : Optional.empty();
    }

    /**
     * The branch's state after this action ended with the recorded {@code outcome} ({@link #outcomeOf});
     * empty when it did not complete or the outcome is not one this build wrote. The live action and the
     * replay after a restart both go through here.
     */
    public Optional<BranchState> branchStateAfterOutcome(boolean committing, String outcome) {
        if (outcome.equals(COORDINATOR_ONLY)) {
            return this == FORGET ? Optional.of(branchStateAfter(committing, (XaBridge.Result) null)) : Optional.empty();
        }
        for (XaBridge.Result result : XaBridge.Result.values()) {
            if (result.name().equals(outcome)) {
                return Optional.of(branchStateAfter(committing, result));
            }
        }
        return Optional.empty();
    }

    /** Parses {@code COMMIT|ROLLBACK|FORGET}, any case; empty for anything else. */
    public static Optional<OperatorAction> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(valueOf(text.trim().toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /**
     * The branch's state once this action ended with {@code result} at its resource, for a transaction
     * whose decision is commit ({@code committing}) or abort.
     *
     * <ul>
     *   <li>The branch ended as the decision says (commit of a committing transaction, rollback of an
     *       aborting one, or NOT_FOUND, which S6 reads as "already finished as decided"): COMMITTED or
     *       ROLLED_BACK.</li>
     *   <li>It ended against the decision: HEURISTIC_COMMIT or HEURISTIC_ROLLBACK, and the transaction
     *       ends mixed.</li>
     *   <li>FORGET, or a mixed answer from the resource: the coordinator no longer knows what the branch
     *       did, HEURISTIC_MIXED (XA's heuristic hazard maps there too).</li>
     * </ul>
     */
    public BranchState branchStateAfter(boolean committing, XaBridge.Result result) {
        if (this == FORGET || result == XaBridge.Result.HEURISTIC_MIXED) {
            return BranchState.HEURISTIC_MIXED;
        }
        boolean committedAtResource;
        switch (result) {
            case NOT_FOUND -> {
                return committing ? BranchState.COMMITTED : BranchState.ROLLED_BACK;
            }
            case HEURISTIC_COMMIT -> committedAtResource = true;
            case HEURISTIC_ROLLBACK -> committedAtResource = false;
            default -> committedAtResource = this == COMMIT;
        }
        if (committing) {
            return committedAtResource ? BranchState.COMMITTED : BranchState.HEURISTIC_ROLLBACK;
        }
        return committedAtResource ? BranchState.HEURISTIC_COMMIT : BranchState.ROLLED_BACK;
    }
}
