/**
 * The HTTP side of {@link dev.pledge.coordinator.txn.ParticipantGateway}: calls to participants'
 * callback endpoints (API.md). Depends on {@code txn} and {@code protocol}.
 */
package dev.pledge.coordinator.participant;
