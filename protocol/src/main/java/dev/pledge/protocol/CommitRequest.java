package dev.pledge.protocol;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * {@code POST /api/v1/transactions/{txid}/commit}. JSON field {@code wait}: "decision" (default) or
 * "completion" ({@code wait} itself cannot name a record component in Java).
 */
public record CommitRequest(List<BranchRegistration> branches, @JsonProperty("wait") String waitFor) {
}
