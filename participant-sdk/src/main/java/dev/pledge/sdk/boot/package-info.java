/**
 * Spring Boot auto-configuration: {@code pledge.*} properties become the coordinator client, the Pledge
 * transaction manager (also Spring's {@code JtaTransactionManager}, so {@code @Transactional},
 * {@code JdbcTemplate} and {@code JmsTemplate} work unchanged), one Agroal XA {@code DataSource} per
 * {@code pledge.datasources.<name>} and one XA {@code ConnectionFactory} per {@code pledge.jms.<name>}
 * ({@code PledgeAutoConfiguration}); in web applications, txid propagation and the participant callbacks
 * ({@code PledgeWebAutoConfiguration}). Depends on the rest of the SDK; nothing depends on it.
 */
package dev.pledge.sdk.boot;
