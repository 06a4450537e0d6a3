package dev.pledge.protocol;

/** Global transaction states (DESIGN.md §4). */
public enum TxState {
    ACTIVE, PREPARING, COMMITTING, COMMITTED, ABORTING, ABORTED,
    HEURISTIC_COMMIT, HEURISTIC_ROLLBACK, HEURISTIC_MIXED;

    public boolean isTerminal() {
        return this == COMMITTED || this == ABORTED || this.name().startsWith("HEURISTIC");
    }
}
