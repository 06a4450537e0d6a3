package dev.pledge.coordinator.txn;

import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.TxState;

import java.time.Instant;
import java.util.List;

/** An immutable copy of a transaction, taken under its lock, for the API and the console. */
public record TransactionSnapshot(String txid, TxState state, String label, Instant createdAt, Instant deadline,
                                  Instant decidedAt, String reason, boolean presumed, List<Branch> branches) {

    public record Branch(String branchId, String resource, BranchState state, String callbackUrl, int attempts,
                         String lastError, Instant nextAttemptAt, boolean assumedCommitted) {
    }

    static TransactionSnapshot of(GlobalTransaction tx) {
        synchronized (tx) {
            List<Branch> branches = tx.branches.values().stream()
                    .map(b -> new Branch(b.branchId, b.resource, b.state, b.callbackUrl, b.attempts, b.lastError,
                            b.state.isFinished() ? null : b.nextAttemptAt, b.assumedCommitted))
                    .toList();
            return new TransactionSnapshot(tx.id, tx.state, tx.label, tx.createdAt, tx.deadline, tx.decidedAt,
                    tx.reason, false, branches);
        }
    }

    static TransactionSnapshot presumed(String txid, TxState state, boolean presumed, String reason) {
        return new TransactionSnapshot(txid, state, null, null, null, null, reason, presumed, List.of());
    }
}
