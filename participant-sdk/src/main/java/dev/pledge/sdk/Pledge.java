package dev.pledge.sdk;

import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.jta.PledgeTransactionManager.ResourceCheck;
import dev.pledge.sdk.jta.PledgeTransactionManager.Settings;
import dev.pledge.sdk.pool.PledgePools;
import dev.pledge.sdk.pool.PledgePools.JmsConfig;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import dev.pledge.sdk.pool.PledgeXaPooledConnectionFactory;
import io.agroal.api.AgroalDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The SDK without Spring: a coordinator client, the transaction manager, and the XA pools built on it,
 * closed together.
 *
 * <pre>{@code
 * try (Pledge pledge = Pledge.builder().coordinatorUrl("http://localhost:8080").token(token).build()) {
 *     DataSource orders = pledge.dataSource("orders-db", "jdbc:postgresql://localhost/orders", "app", "secret");
 *     DataSource billing = pledge.dataSource("billing-db", "jdbc:postgresql://localhost/billing", "app", "secret");
 *     pledge.checkResources(ResourceCheck.FAIL);
 *     UserTransaction ut = pledge.transactionManager();
 *     ut.begin();
 *     ... write through orders and billing ...
 *     ut.commit();
 * }
 * }</pre>
 */
public final class Pledge implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Pledge.class);

    private final CoordinatorClient client;
    private final PledgeTransactionManager tm;
    private final Deque<AutoCloseable> pools = new ArrayDeque<>();
    private final Deque<JoinedTransactions> joined = new ArrayDeque<>();

    private Pledge(CoordinatorClient client, Settings settings) {
        this.client = client;
        this.tm = new PledgeTransactionManager(client, settings);
    }

    public static Builder builder() {
        return new Builder();
    }

    public CoordinatorClient client() {
        return client;
    }

    /** Also the {@code UserTransaction}; its {@code synchronizationRegistry()} is the TransactionSynchronizationRegistry. */
    public PledgeTransactionManager transactionManager() {
        return tm;
    }

    /** An XA pool for one database (type from the URL, 10 connections), closed with this object. */
    public AgroalDataSource dataSource(String resourceName, String jdbcUrl, String user, String password)
            throws SQLException {
        return dataSource(XaDataSourceConfig.of(resourceName, jdbcUrl, user, password));
    }

    public synchronized AgroalDataSource dataSource(XaDataSourceConfig config) throws SQLException {
        AgroalDataSource ds = PledgePools.dataSource(config, tm);
        pools.push(ds);
        return ds;
    }

    /** An XA pool for one ActiveMQ broker, stopped with this object. */
    public PledgeXaPooledConnectionFactory connectionFactory(String resourceName, String brokerUrl) {
        return connectionFactory(JmsConfig.of(resourceName, brokerUrl));
    }

    public synchronized PledgeXaPooledConnectionFactory connectionFactory(JmsConfig config) {
        PledgeXaPooledConnectionFactory cf = PledgePools.connectionFactory(config, tm);
        pools.push(cf::stop);
        return cf;
    }

    /**
     * The receiving side of propagation: joins requests that carry a {@code Pledge-Txid} and serves the
     * participant callbacks (wire it to your HTTP server: {@code dev.pledge.sdk.web.PledgeTxidFilter} for a
     * servlet container). Closed with this object, before the pools.
     */
    public synchronized JoinedTransactions joinedTransactions(JoinedTransactions.Settings settings) {
        JoinedTransactions j = new JoinedTransactions(tm, settings);
        joined.push(j);
        return j;
    }

    /** See {@link PledgeTransactionManager#checkResources}. */
    public void checkResources(ResourceCheck mode) {
        tm.checkResources(mode);
    }

    /**
     * Ends the joined transactions (unprepared work rolls back), closes the pools (newest first), then the
     * transaction manager (pending completion reports are sent).
     */
    @Override
    public synchronized void close() {
        while (!joined.isEmpty()) {
            joined.pop().close();
        }
        while (!pools.isEmpty()) {
            try {
                pools.pop().close();
            } catch (Exception e) {
                log.warn("Closing a pool failed: {}", e.toString());
            }
        }
        tm.close();
    }

    /** Settings of the coordinator client and the transaction manager. */
    public static final class Builder {
        private final CoordinatorClient.Builder client = CoordinatorClient.builder();
        private Settings settings = Settings.defaults();

        private Builder() {
        }

        /** The coordinator's base URL (several, comma-separated, for a cluster). */
        public Builder coordinatorUrl(String url) {
            client.url(url);
            return this;
        }

        public Builder token(String token) {
            client.token(token);
            return this;
        }

        public Builder instanceId(String instanceId) {
            settings = settings.withInstanceId(instanceId);
            return this;
        }

        public Builder defaultTimeout(Duration timeout) {
            settings = settings.withDefaultTimeout(timeout);
            return this;
        }

        /** How long a commit keeps asking for a decision it could not learn (S8). */
        public Builder outcomeWait(Duration wait) {
            settings = settings.withOutcomeWait(wait);
            return this;
        }

        /** Total retry time of one coordinator call. */
        public Builder maxRetryTime(Duration d) {
            client.maxRetryTime(d);
            return this;
        }

        public Builder requestTimeout(Duration d) {
            client.requestTimeout(d);
            return this;
        }

        public Builder settings(Settings s) {
            settings = s;
            return this;
        }

        /** For settings not listed here (backoff, connect timeout). */
        public CoordinatorClient.Builder client() {
            return client;
        }

        public Pledge build() {
            return new Pledge(client.build(), settings);
        }
    }
}
