/**
 * Propagation between services (DESIGN.md §7): the outgoing {@code Pledge-Txid} header
 * ({@link dev.pledge.sdk.web.PledgeTxidInterceptor} for {@code RestClient}/{@code RestTemplate},
 * {@link dev.pledge.sdk.web.PledgeHeaders#propagate} for any other client), the servlet filter that joins an
 * incoming request to that transaction ({@link dev.pledge.sdk.web.PledgeTxidFilter}), and the participant
 * callbacks the coordinator drives joined branches through
 * ({@link dev.pledge.sdk.web.ParticipantCallbackController}, authenticated by
 * {@link dev.pledge.sdk.web.CallbackAuthentication}). Thin HTTP adapters over
 * {@link dev.pledge.sdk.jta.JoinedTransactions}; depends on {@code dev.pledge.sdk.jta}, the protocol records,
 * Jakarta Servlet and Spring Web/MVC (all optional dependencies of the SDK).
 */
package dev.pledge.sdk.web;
