package dev.pledge.protocol;

/** {@code POST .../branches/{branchId}/completed}: outcome is COMMITTED or ROLLED_BACK. */
public record CompletionReport(BranchState outcome) {
}
