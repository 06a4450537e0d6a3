package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;

@JsonInclude(JsonInclude.Include.NON_NULL)
public record BranchView(String branchId, String resource, XidView xid, BranchState state, String callbackUrl,
                         int attempts, String lastError, Instant nextAttemptAt, Boolean assumedCommitted) {
}
