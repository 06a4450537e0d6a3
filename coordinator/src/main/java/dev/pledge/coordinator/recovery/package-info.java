/**
 * Recovery beyond phase 2: the {@link dev.pledge.coordinator.recovery.OrphanScanner}, which finds
 * prepared branches of ours in every resource and resolves the ones nobody else will (safety rule S5).
 * Depends on {@code txn}, {@code resources}, {@code failpoint} and {@code config}.
 */
package dev.pledge.coordinator.recovery;
