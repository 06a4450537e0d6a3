package dev.pledge.sdk.pool;

import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.StandInCoordinator;
import dev.pledge.sdk.StandInCoordinator.Answer;
import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.jta.TransactionInDoubtException;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import dev.pledge.xa.PledgeXid;
import io.agroal.api.AgroalDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Agroal pools enlisting through PledgeTransactionIntegration, on real in-memory H2 databases. */
class AgroalPoolTest {
    static final String ORDERS = "pool-orders";
    static final String BILLING = "pool-billing";
    static StandInCoordinator coordinator;

    PledgeTransactionManager tm;
    AgroalDataSource orders;
    AgroalDataSource billing;

    @BeforeAll
    static void startAll() throws Exception {
        coordinator = new StandInCoordinator();
        H2Databases.create(ORDERS);
        H2Databases.create(BILLING);
    }

    @AfterAll
    static void stopAll() {
        coordinator.close();
    }

    @BeforeEach
    void start() throws Exception {
        coordinator.reset();
        CoordinatorClient client = CoordinatorClient.builder().url(coordinator.url())
                .initialBackoff(Duration.ofMillis(10)).maxRetryTime(Duration.ofMillis(300)).build();
        tm = new PledgeTransactionManager(client, PledgeTransactionManager.Settings.defaults()
                .withInstanceId("app-1").withOutcomeWait(Duration.ofMillis(500)));
        // One connection per pool: a connection that did not come back would block the next transaction.
        orders = PledgePools.dataSource(new XaDataSourceConfig("orders-db", null, H2Databases.url(ORDERS), "sa", "",
                1, Duration.ofSeconds(2)), tm);
        billing = PledgePools.dataSource(new XaDataSourceConfig("billing-db", null, H2Databases.url(BILLING), "sa", "",
                1, Duration.ofSeconds(2)), tm);
    }

    @AfterEach
    void stop() {
        orders.close();
        billing.close();
        tm.close();
    }

    private static String id() {
        return UUID.randomUUID().toString();
    }

    @Test
    void aPoolGivesOneTransactionOneConnectionAndOneBranchAndTakesItBackAtTheEnd() throws Exception {
        String a = id();
        String b = id();
        tm.begin();
        String txid = tm.getTransaction().txid();
        try (Connection c = orders.getConnection()) {
            H2Databases.insert(c, a);
        }
        try (Connection c = orders.getConnection()) {
            H2Databases.insert(c, b);
        }
        try (Connection c = billing.getConnection()) {
            H2Databases.insert(c, a);
        }
        tm.commit();

        assertThat(H2Databases.exists(ORDERS, a)).isTrue();
        assertThat(H2Databases.exists(ORDERS, b)).isTrue();
        assertThat(H2Databases.exists(BILLING, a)).isTrue();
        JsonNode branches = coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit").get(0).json()
                .get("branches");
        assertThat(branches).hasSize(2);
        assertThat(branches.get(0).get("branchId").asString()).isEqualTo("orders-db:app-1:1");
        assertThat(branches.get(1).get("branchId").asString()).isEqualTo("billing-db:app-1:2");
        assertThat(tm.resourceNames()).containsExactly("billing-db", "orders-db");

        // Both connections are back: the next transaction gets them, and its rollback undoes its work.
        String c2 = id();
        tm.begin();
        try (Connection c = orders.getConnection(); Connection d = billing.getConnection()) {
            H2Databases.insert(c, c2);
            H2Databases.insert(d, c2);
        }
        tm.rollback();
        assertThat(H2Databases.exists(ORDERS, c2)).isFalse();
        assertThat(H2Databases.exists(BILLING, c2)).isFalse();
    }

    @Test
    void aRefusedEnlistmentGivesTheConnectionBackExactlyOnce() throws Exception {
        tm.begin();
        tm.setRollbackOnly();
        assertThatThrownBy(() -> orders.getConnection()).isInstanceOf(java.sql.SQLException.class)
                .hasMessageContaining("rollback-only");
        tm.rollback();

        // The pool's only connection is usable again, by one transaction at a time.
        String row = id();
        tm.begin();
        try (Connection c = orders.getConnection()) {
            H2Databases.insert(c, row);
        }
        tm.commit();
        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
    }

    @Test
    void outsideATransactionConnectionsAutoCommit() throws Exception {
        String row = id();
        try (Connection c = orders.getConnection()) {
            H2Databases.insert(c, row);
        }
        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
    }

    /** Safety rule S8 through the pool: the prepared branch is not reset, committed or lost by the pool. */
    @Test
    void anUnknownOutcomeKeepsThePreparedH2BranchOutOfThePool() throws Exception {
        coordinator.always("POST", ".*/commit", r -> Answer.outcomeUnknown(StandInCoordinator.txidOf(r.path())));
        String row = id();
        tm.begin();
        String txid = tm.getTransaction().txid();
        try (Connection c = orders.getConnection(); Connection d = billing.getConnection()) {
            H2Databases.insert(c, row);
            H2Databases.insert(d, row);
        }
        assertThatThrownBy(tm::commit).isInstanceOf(TransactionInDoubtException.class).hasMessageContaining(txid);

        List<PledgeXid> prepared = H2Databases.recover(ORDERS);
        assertThat(prepared).extracting(PledgeXid::txid).containsExactly(txid);
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();
        assertThat(coordinator.requests("POST", ".*/rollback")).isEmpty();

        H2Databases.commitPrepared(ORDERS, prepared.get(0));
        H2Databases.commitPrepared(BILLING, H2Databases.recover(BILLING).get(0));
        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
        assertThat(H2Databases.exists(BILLING, row)).isTrue();
    }
}
