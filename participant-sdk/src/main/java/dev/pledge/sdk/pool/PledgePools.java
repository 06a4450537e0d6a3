package dev.pledge.sdk.pool;

import dev.pledge.sdk.jta.NamedXAResource;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.AgroalConnectionPoolConfiguration.ConnectionValidator;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import jakarta.jms.Session;
import org.apache.activemq.ActiveMQXAConnectionFactory;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

/**
 * Builds the SDK's XA pools from plain settings, with or without Spring: an Agroal XA
 * {@code DataSource} per database and an activemq-jms-pool XA {@code ConnectionFactory} per broker,
 * each enlisting under its resource name in a {@link PledgeTransactionManager}.
 */
public final class PledgePools {
    /** The XADataSource class of each supported database type. */
    public static final Map<String, String> XA_DATASOURCE_CLASSES = Map.of(
            "postgresql", "org.postgresql.xa.PGXADataSource",
            "h2", "org.h2.jdbcx.JdbcDataSource");

    private PledgePools() {
    }

    /**
     * One XA database pool.
     *
     * @param resourceName       the name the coordinator knows the database by ({@code pledge.resources.<name>})
     * @param type               {@code postgresql} or {@code h2}; null: taken from the JDBC URL
     * @param url                JDBC URL
     * @param user               may be null
     * @param password           may be null
     * @param maxSize            most connections in the pool
     * @param acquisitionTimeout how long {@code getConnection()} waits for a free connection
     */
    public record XaDataSourceConfig(String resourceName, String type, String url, String user, String password,
                                     int maxSize, Duration acquisitionTimeout) {
        public XaDataSourceConfig {
            NamedXAResource.requireValidName(resourceName);
            if (url == null || url.isBlank()) {
                throw new IllegalArgumentException("pledge.datasources." + resourceName + ".url is missing: give a JDBC URL");
            }
            if (type == null || type.isBlank()) {
                type = url.startsWith("jdbc:postgresql:") ? "postgresql" : url.startsWith("jdbc:h2:") ? "h2" : null;
            }
            if (type == null || !XA_DATASOURCE_CLASSES.containsKey(type)) {
                throw new IllegalArgumentException("pledge.datasources." + resourceName + ".type=" + type + " is invalid"
                        + " for " + url + ": use one of " + XA_DATASOURCE_CLASSES.keySet());
            }
            if (maxSize < 1 || maxSize > 1000) {
                throw new IllegalArgumentException("pledge.datasources." + resourceName + ".max-size=" + maxSize
                        + " is out of range: use 1..1000");
            }
            if (acquisitionTimeout == null || acquisitionTimeout.isNegative() || acquisitionTimeout.isZero()) {
                throw new IllegalArgumentException("pledge.datasources." + resourceName + ".acquisition-timeout="
                        + acquisitionTimeout + " is invalid: use a positive duration");
            }
        }

        /** Defaults: type from the URL, 10 connections, 30 s acquisition timeout. */
        public static XaDataSourceConfig of(String resourceName, String url, String user, String password) {
            return new XaDataSourceConfig(resourceName, null, url, user, password, 10, Duration.ofSeconds(30));
        }

        /** Never prints the password. */
        @Override
        public String toString() {
            return "XaDataSourceConfig[" + resourceName + ", " + type + ", " + url + ", user=" + user + ", maxSize="
                    + maxSize + "]";
        }
    }

    /**
     * One XA broker pool (ActiveMQ Classic).
     *
     * @param resourceName   the name the coordinator knows the broker by
     * @param brokerUrl      e.g. {@code tcp://localhost:61616}
     * @param user           may be null
     * @param password       may be null
     * @param maxConnections connections to the broker; sessions are pooled per connection
     */
    public record JmsConfig(String resourceName, String brokerUrl, String user, String password, int maxConnections) {
        public JmsConfig {
            NamedXAResource.requireValidName(resourceName);
            if (brokerUrl == null || brokerUrl.isBlank()) {
                throw new IllegalArgumentException("pledge.jms." + resourceName + ".broker-url is missing");
            }
            if (maxConnections < 1 || maxConnections > 100) {
                throw new IllegalArgumentException("pledge.jms." + resourceName + ".max-connections=" + maxConnections
                        + " is out of range: use 1..100");
            }
        }

        public static JmsConfig of(String resourceName, String brokerUrl) {
            return new JmsConfig(resourceName, brokerUrl, null, null, 1);
        }

        @Override
        public String toString() {
            return "JmsConfig[" + resourceName + ", " + brokerUrl + ", user=" + user + ", maxConnections=" + maxConnections + "]";
        }
    }

    /** An Agroal pool of XA connections whose connections enlist in {@code tm}'s transactions. Close it when done. */
    public static AgroalDataSource dataSource(XaDataSourceConfig c, PledgeTransactionManager tm) throws SQLException {
        PledgeTransactionIntegration integration = new PledgeTransactionIntegration(tm, c.resourceName(),
                "postgresql".equals(c.type()));
        AgroalDataSourceConfigurationSupplier config = new AgroalDataSourceConfigurationSupplier()
                .connectionPoolConfiguration(pool -> pool
                        .maxSize(c.maxSize())
                        .minSize(0)
                        .initialSize(0)
                        .acquisitionTimeout(c.acquisitionTimeout())
                        .connectionValidator(ConnectionValidator.defaultValidator())
                        .idleValidationTimeout(Duration.ofSeconds(30))
                        .transactionIntegration(integration)
                        .connectionFactoryConfiguration(factory -> {
                            factory.connectionProviderClassName(XA_DATASOURCE_CLASSES.get(c.type())).jdbcUrl(c.url());
                            if (c.user() != null) {
                                factory.principal(new NamePrincipal(c.user()));
                            }
                            if (c.password() != null) {
                                factory.credential(new SimplePassword(c.password()));
                            }
                            return factory;
                        }));
        return AgroalDataSource.from(config);
    }

    /** A pooled XA connection factory whose sessions enlist in {@code tm}'s transactions. {@code stop()} it when done. */
    public static PledgeXaPooledConnectionFactory connectionFactory(JmsConfig c, PledgeTransactionManager tm) {
        ActiveMQXAConnectionFactory xa = c.user() == null
                ? new ActiveMQXAConnectionFactory(c.brokerUrl())
                : new ActiveMQXAConnectionFactory(c.user(), c.password(), c.brokerUrl());
        // Outside a global transaction an XA session would otherwise insist on one ("not enlisted");
        // inside one it is transacted whatever this mode says.
        xa.setXaAckMode(Session.AUTO_ACKNOWLEDGE);
        PledgeXaPooledConnectionFactory pooled = new PledgeXaPooledConnectionFactory(tm, c.resourceName());
        pooled.setConnectionFactory(xa);
        pooled.setMaxConnections(c.maxConnections());
        return pooled;
    }
}
