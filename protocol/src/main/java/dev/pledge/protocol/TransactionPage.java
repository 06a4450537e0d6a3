package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/** {@code GET /api/v1/transactions}: one page, and the cursor of the next one (absent on the last page). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TransactionPage(List<TransactionView> items, String nextCursor) {
}
