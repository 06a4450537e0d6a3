package dev.pledge.coordinator.txn;

import dev.pledge.protocol.TxState;

/**
 * Every refusal of the engine, with the kind the API maps to a status and problem type, the
 * txid it concerns, and a detail that says what happened and what to do next.
 */
public class TransactionException extends RuntimeException {

    public enum Kind {
        INVALID_TXID, INVALID_BRANCH, MALFORMED, NOT_FOUND, NOT_ACTIVE, ALREADY_COMMITTED, OUTCOME_UNKNOWN,
        UNKNOWN_RESOURCE, LIMIT_EXCEEDED, NO_LEADER
    }

    private final Kind kind;
    private final String txid;
    private final TxState state;

    public TransactionException(Kind kind, String txid, String detail) {
        this(kind, txid, null, detail);
    }

    public TransactionException(Kind kind, String txid, TxState state, String detail) {
        super(detail);
        this.kind = kind;
        this.txid = txid;
        this.state = state;
    }

    public Kind kind() {
        return kind;
    }

    public String txid() {
        return txid;
    }

    /** The transaction's state when the request was refused, if known. */
    public TxState state() {
        return state;
    }
}
