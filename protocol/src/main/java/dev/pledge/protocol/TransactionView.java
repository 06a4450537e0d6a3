package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;
import java.util.List;

/** {@code GET /api/v1/transactions/{txid}}. {@code presumed} is true for an outcome inferred by presumed abort. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TransactionView(String txid, TxState state, String label, Instant createdAt, Instant deadline,
                              Instant decidedAt, String reason, Boolean presumed, List<BranchView> branches) {
}
