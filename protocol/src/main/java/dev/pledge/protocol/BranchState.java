package dev.pledge.protocol;

/** Branch states (DESIGN.md §4). */
public enum BranchState {
    ACTIVE, PREPARED, READ_ONLY, COMMITTED, ROLLED_BACK, FAILED_RETRYING,
    HEURISTIC_COMMIT, HEURISTIC_ROLLBACK, HEURISTIC_MIXED;

    /** True when phase 2 has nothing more to do for this branch. */
    public boolean isFinished() {
        return this == READ_ONLY || this == COMMITTED || this == ROLLED_BACK || isHeuristic();
    }

    /** True for the states a branch ends in against the decision (or with an outcome nobody knows). */
    public boolean isHeuristic() {
        return this == HEURISTIC_COMMIT || this == HEURISTIC_ROLLBACK || this == HEURISTIC_MIXED;
    }
}
