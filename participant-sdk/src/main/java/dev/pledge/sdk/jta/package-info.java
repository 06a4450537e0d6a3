/**
 * Pledge's JTA implementation: {@link dev.pledge.sdk.jta.PledgeTransactionManager} (also the
 * {@code UserTransaction}), {@link dev.pledge.sdk.jta.PledgeTransaction} and
 * {@link dev.pledge.sdk.jta.PledgeTransactionSynchronizationRegistry}. A transaction's txid comes from
 * the coordinator; enlisted resources become XA branches named {@code <resource>:<instance>:<n>}; commit
 * prepares them here (early prepare) and asks the coordinator for the decision, then finishes them here
 * (phase-2 ownership). {@link dev.pledge.sdk.jta.JoinedTransactions} is the other side of propagation: the
 * transactions this service joined through a {@code Pledge-Txid} header, their parked branches and the phase
 * operations the coordinator drives through the participant callbacks. Depends on {@code dev.pledge.sdk.client},
 * the protocol records and {@code XidCodec}.
 */
package dev.pledge.sdk.jta;
