package dev.pledge.sdk.jta;

import jakarta.transaction.SystemException;

import java.util.List;

/**
 * Safety rule S8: the commit request reached the coordinator, or may have, but its outcome could not be
 * learned in time. The prepared branches were NOT rolled back: they stay prepared, and the coordinator
 * will finish them (commit or roll back, by its decision log) through XA bridging. The application must
 * treat the transaction's outcome as unknown until {@code GET /api/v1/transactions/{txid}} says otherwise.
 */
public class TransactionInDoubtException extends SystemException {
    private final String txid;
    private final List<String> preparedBranches;

    public TransactionInDoubtException(String txid, List<String> preparedBranches, String why, Throwable cause) {
        super("transaction " + txid + " is in doubt: " + why + ". Its " + preparedBranches.size()
                + " prepared branch(es) " + preparedBranches + " were left prepared, not rolled back; the coordinator"
                + " will finish them by its decision (XA bridging). Check the outcome with GET /api/v1/transactions/"
                + txid + " before repeating the work.");
        this.txid = txid;
        this.preparedBranches = List.copyOf(preparedBranches);
        if (cause != null) {
            initCause(cause);
        }
    }

    public String txid() {
        return txid;
    }

    /** The branch ids left prepared ({@code <resource>:<instance>:<n>}). */
    public List<String> preparedBranches() {
        return preparedBranches;
    }
}
