package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

/** {@code POST /api/v1/transactions/{txid}/branches}, and the inline form in a commit request. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BranchRegistration(String branchId, String resource, BranchState state, String callbackUrl) {
}
