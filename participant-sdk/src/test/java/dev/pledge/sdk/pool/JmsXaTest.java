package dev.pledge.sdk.pool;

import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.StandInCoordinator;
import dev.pledge.sdk.StandInCoordinator.Answer;
import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.pool.PledgePools.JmsConfig;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import io.agroal.api.AgroalDataSource;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import jakarta.transaction.RollbackException;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.broker.BrokerService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.sql.Connection;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A database and an embedded ActiveMQ broker in one transaction, through Agroal and activemq-jms-pool. */
class JmsXaTest {
    static final String DB = "jms-orders";
    static StandInCoordinator coordinator;
    static BrokerService broker;
    static String brokerUrl;

    PledgeTransactionManager tm;
    AgroalDataSource orders;
    PledgeXaPooledConnectionFactory jms;

    @BeforeAll
    static void startAll() throws Exception {
        coordinator = new StandInCoordinator();
        H2Databases.create(DB);
        broker = new BrokerService();
        broker.setBrokerName("sdk-test");
        broker.setPersistent(false);
        broker.setUseJmx(false);
        broker.setAdvisorySupport(false);
        broker.addConnector("tcp://127.0.0.1:0");
        broker.start();
        broker.waitUntilStarted();
        brokerUrl = broker.getTransportConnectors().get(0).getPublishableConnectString();
    }

    @AfterAll
    static void stopAll() throws Exception {
        broker.stop();
        coordinator.close();
    }

    @BeforeEach
    void start() throws Exception {
        coordinator.reset();
        CoordinatorClient client = CoordinatorClient.builder().url(coordinator.url())
                .maxRetryTime(Duration.ofMillis(300)).build();
        tm = new PledgeTransactionManager(client, PledgeTransactionManager.Settings.defaults().withInstanceId("app-1"));
        orders = PledgePools.dataSource(XaDataSourceConfig.of("orders-db", H2Databases.url(DB), "sa", ""), tm);
        jms = PledgePools.connectionFactory(JmsConfig.of("broker", brokerUrl), tm);
    }

    @AfterEach
    void stop() {
        jms.stop();
        orders.close();
        tm.close();
    }

    private void writeAndSend(String row, String queue, boolean send) throws Exception {
        try (Connection c = orders.getConnection()) {
            H2Databases.insert(c, row);
        }
        try (jakarta.jms.Connection connection = jms.createConnection();
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            if (send) {
                session.createProducer(session.createQueue(queue)).send(session.createTextMessage(row));
            }
        }
    }

    private static String receive(String queue, long waitMs) throws Exception {
        try (jakarta.jms.Connection connection = new ActiveMQConnectionFactory(brokerUrl).createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer consumer = session.createConsumer(session.createQueue(queue));
            Message m = consumer.receive(waitMs);
            return m == null ? null : ((TextMessage) m).getText();
        }
    }

    @Test
    void aDatabaseWriteAndAMessageCommitTogether() throws Exception {
        String row = UUID.randomUUID().toString();
        tm.begin();
        String txid = tm.getTransaction().txid();
        writeAndSend(row, "committed", true);
        tm.commit();

        assertThat(H2Databases.exists(DB, row)).isTrue();
        assertThat(receive("committed", 2000)).isEqualTo(row);
        JsonNode branches = coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit").get(0).json()
                .get("branches");
        assertThat(branches).hasSize(2);
        assertThat(branches.get(1).get("resource").asString()).isEqualTo("broker");
        assertThat(branches.get(1).get("branchId").asString()).isEqualTo("broker:app-1:2");
    }

    @Test
    void anAbortDecisionDiscardsTheMessageAndTheRow() throws Exception {
        coordinator.next("POST", ".*/commit", Answer.json(200, "{\"txid\":\"x\",\"outcome\":\"ABORTED\"}"));
        String row = UUID.randomUUID().toString();
        tm.begin();
        writeAndSend(row, "aborted", true);
        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class);

        assertThat(H2Databases.exists(DB, row)).isFalse();
        assertThat(receive("aborted", 300)).isNull();
    }

    @Test
    void aBrokerBranchWithoutWorkVotesReadOnlyAndIsNotReported() throws Exception {
        String row = UUID.randomUUID().toString();
        tm.begin();
        String txid = tm.getTransaction().txid();
        writeAndSend(row, "unused", false);
        tm.commit();

        assertThat(H2Databases.exists(DB, row)).isTrue();
        JsonNode branches = coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit").get(0).json()
                .get("branches");
        assertThat(branches).hasSize(1);
        assertThat(branches.get(0).get("resource").asString()).isEqualTo("orders-db");
    }
}
