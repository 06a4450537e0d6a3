/**
 * The exactly-once queue consumer sample: {@link dev.pledge.samples.queue.InboxListener} receives a message
 * from ActiveMQ, inserts a row keyed by the message id into PostgreSQL, and acknowledges the message --
 * one Pledge transaction over both, with the listener container on Spring's {@code JtaTransactionManager}
 * from the participant SDK.
 */
package dev.pledge.samples.queue;
