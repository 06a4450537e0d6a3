/**
 * XA pooling with well-kept libraries, no home-made pool: Agroal for JDBC, plugged in through
 * {@link dev.pledge.sdk.pool.PledgeTransactionIntegration} (one per pool), and activemq-jms-pool for JMS
 * ({@link dev.pledge.sdk.pool.PledgeXaPooledConnectionFactory}). Both name their XA resources with the
 * pool's resource name so the transaction manager can enlist them. {@link dev.pledge.sdk.pool.PledgePools}
 * builds either from plain settings, without Spring. Depends on {@code dev.pledge.sdk.jta}.
 */
package dev.pledge.sdk.pool;
