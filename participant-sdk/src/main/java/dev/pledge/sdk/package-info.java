/**
 * The participant SDK: what an application adds to take part in Pledge transactions.
 * {@link dev.pledge.sdk.Pledge} assembles it without Spring; {@code boot} does the same from
 * {@code pledge.*} properties. Subpackages: {@code client} (the coordinator's REST API), {@code jta}
 * (the transaction manager, and the transactions joined from other services), {@code pool} (Agroal and
 * activemq-jms-pool integration), {@code web} (txid propagation over HTTP and the participant callbacks),
 * {@code boot} (auto-configuration). The SDK depends on {@code protocol} and {@code xa-adapters}, never on the coordinator.
 */
package dev.pledge.sdk;
