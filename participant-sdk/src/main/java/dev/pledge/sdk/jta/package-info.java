/**
 * Pledge's JTA implementation: {@link dev.pledge.sdk.jta.PledgeTransactionManager} (also the
 * {@code UserTransaction}), {@link dev.pledge.sdk.jta.PledgeTransaction} and
 * {@link dev.pledge.sdk.jta.PledgeTransactionSynchronizationRegistry}. A transaction's txid comes from
 * the coordinator; enlisted resources become XA branches named {@code <resource>:<instance>:<n>}; commit
 * prepares them here (early prepare) and asks the coordinator for the decision, then finishes them here
 * (phase-2 ownership). Depends on {@code dev.pledge.sdk.client}, the protocol records and {@code XidCodec}.
 */
package dev.pledge.sdk.jta;
