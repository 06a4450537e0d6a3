/**
 * Two services in one global transaction: {@code orders} writes an order to its database and calls
 * {@code payments} twice over HTTP; {@code payments} works in its own database. Pledge propagates the
 * transaction ({@code Pledge-Txid}) and the coordinator prepares and commits both services' work together.
 */
package dev.pledge.samples.twoservices;
