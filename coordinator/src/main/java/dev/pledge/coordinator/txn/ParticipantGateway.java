package dev.pledge.coordinator.txn;

import dev.pledge.protocol.Vote;

import java.util.concurrent.CompletableFuture;

/**
 * How the engine talks to participants' callbacks (API.md "Participant callbacks"). Futures
 * complete exceptionally on transport errors and timeouts; the engine decides what those mean.
 */
public interface ParticipantGateway {

    CompletableFuture<VoteResult> prepare(String callbackUrl, String txid, String branchId);

    /** Answers COMMITTED, ROLLED_BACK or UNKNOWN_BRANCH. */
    CompletableFuture<String> commit(String callbackUrl, String txid, String branchId, boolean onePhase);

    /** Answers ROLLED_BACK or UNKNOWN_BRANCH. */
    CompletableFuture<String> rollback(String callbackUrl, String txid, String branchId);

    record VoteResult(Vote vote, String reason) {
    }
}
