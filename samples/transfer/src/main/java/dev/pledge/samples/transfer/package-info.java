/**
 * The cross-database transfer sample: {@link dev.pledge.samples.transfer.TransferService}, one plain
 * {@code @Transactional} method writing to two databases, run by {@link dev.pledge.samples.transfer.TransferLoad}
 * as a batch. By default the participant SDK makes it one Pledge transaction (configured by {@code pledge.*}
 * properties only); the Spring profile {@code atomikos} swaps in Atomikos
 * ({@link dev.pledge.samples.transfer.AtomikosConfiguration}) under the same code.
 */
package dev.pledge.samples.transfer;
