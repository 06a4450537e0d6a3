/**
 * The transaction engine: the transaction table, the life cycle of DESIGN.md §4 and the commit
 * point. Depends on {@code log} (the decision log), {@code failpoint} and {@code config}; talks to
 * participants only through {@link dev.pledge.coordinator.txn.ParticipantGateway} and reads time
 * only from an injected {@link java.time.Clock}, so a simulation can drive it.
 */
package dev.pledge.coordinator.txn;
