package dev.pledge.sdk.boot;

import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.StandInCoordinator;
import dev.pledge.sdk.StandInCoordinator.Answer;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.jta.TransactionInDoubtException;
import dev.pledge.sdk.pool.PledgeXaPooledConnectionFactory;
import io.agroal.api.AgroalDataSource;
import jakarta.jms.ConnectionFactory;
import jakarta.transaction.TransactionSynchronizationRegistry;
import org.apache.activemq.broker.BrokerService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jms.core.JmsTemplate;
import org.springframework.stereotype.Service;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionSystemException;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.jta.JtaTransactionManager;

import javax.sql.DataSource;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A Spring Boot application that only adds {@code pledge.*} properties: {@code @Transactional}, JdbcTemplate and
 * JmsTemplate work unchanged across two databases and a broker.
 */
@SpringBootTest(classes = PledgeAutoConfigurationTest.App.class)
class PledgeAutoConfigurationTest {
    static StandInCoordinator coordinator;
    static BrokerService broker;

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    @Import(TransferService.class)
    static class App {
    }

    @Service
    static class TransferService {
        private final JdbcTemplate orders;
        private final JdbcTemplate billing;
        private final JmsTemplate jms;

        TransferService(JdbcTemplate orders, @Qualifier("billing") DataSource billing, JmsTemplate jms) {
            this.orders = orders;
            this.billing = new JdbcTemplate(billing);
            this.jms = jms;
        }

        @Transactional
        public void transfer(String id, boolean fail) {
            orders.update("INSERT INTO entries(id, note) VALUES (?, 'debit')", id);
            billing.update("INSERT INTO entries(id, note) VALUES (?, 'credit')", id);
            jms.convertAndSend("transfers", id);
            if (fail) {
                throw new IllegalStateException("business rule says no");
            }
        }
    }

    @DynamicPropertySource
    static synchronized void properties(DynamicPropertyRegistry registry) throws Exception {
        if (coordinator == null) {
            coordinator = new StandInCoordinator();
            H2Databases.create("boot-orders");
            H2Databases.create("boot-billing");
            broker = new BrokerService();
            broker.setBrokerName("boot-test");
            broker.setPersistent(false);
            broker.setUseJmx(false);
            broker.setAdvisorySupport(false);
            broker.addConnector("tcp://127.0.0.1:0");
            broker.start();
            broker.waitUntilStarted();
        }
        String brokerUrl = broker.getTransportConnectors().get(0).getPublishableConnectString();
        registry.add("pledge.coordinator.url", coordinator::url);
        registry.add("pledge.coordinator.token", () -> "t");
        registry.add("pledge.participant.instance-id", () -> "svc-1");
        registry.add("pledge.datasources.orders.url", () -> H2Databases.url("boot-orders"));
        registry.add("pledge.datasources.orders.user", () -> "sa");
        registry.add("pledge.datasources.billing.url", () -> H2Databases.url("boot-billing"));
        registry.add("pledge.datasources.billing.user", () -> "sa");
        registry.add("pledge.jms.broker.broker-url", () -> brokerUrl);
        registry.add("spring.jms.template.receive-timeout", () -> "2s");
        registry.add("pledge.participant.outcome-wait", () -> "300ms");
        registry.add("pledge.coordinator.max-retry-time", () -> "100ms");
    }

    @AfterAll
    static void stop() throws Exception {
        broker.stop();
        coordinator.close();
    }

    @Autowired
    TransferService service;
    @Autowired
    PlatformTransactionManager transactionManager;
    @Autowired
    PledgeTransactionManager pledge;
    @Autowired
    TransactionSynchronizationRegistry registry;
    @Autowired
    DataSource primary;
    @Autowired
    ConnectionFactory connectionFactory;
    @Autowired
    JmsTemplate jms;

    @BeforeEach
    void clean() {
        coordinator.reset();
    }

    @Test
    void registersTheAutoConfigurationAndWiresPledgeUnderSpring() {
        assertThat(ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader()).getCandidates())
                .contains(PledgeAutoConfiguration.class.getName());
        assertThat(transactionManager).isInstanceOf(JtaTransactionManager.class);
        assertThat(((JtaTransactionManager) transactionManager).getTransactionManager()).isSameAs(pledge);
        assertThat(((JtaTransactionManager) transactionManager).getUserTransaction()).isSameAs(pledge);
        assertThat(registry).isSameAs(pledge.synchronizationRegistry());
        assertThat(primary).isInstanceOf(AgroalDataSource.class);
        assertThat(connectionFactory).isInstanceOf(PledgeXaPooledConnectionFactory.class);
        assertThat(pledge.resourceNames()).containsExactly("billing", "broker", "orders");
        assertThat(pledge.settings().instanceId()).isEqualTo("svc-1");
    }

    @Test
    void aTransactionalMethodCommitsBothDatabasesAndTheMessageAtomically() throws Exception {
        String id = UUID.randomUUID().toString();
        service.transfer(id, false);

        assertThat(H2Databases.exists("boot-orders", id)).isTrue();
        assertThat(H2Databases.exists("boot-billing", id)).isTrue();
        assertThat(jms.receiveAndConvert("transfers")).isEqualTo(id);
        assertThat(coordinator.requests("POST", ".*/commit")).hasSize(1);
        assertThat(coordinator.requests("POST", ".*/commit").get(0).json().get("branches")).hasSize(3);
    }

    /** S8 as a Spring application sees it: the commit fails, naming the txid, and nothing is rolled back. */
    @Test
    void anUnknownOutcomeSurfacesAsATransactionSystemExceptionThatNamesTheTxid() throws Exception {
        coordinator.always("POST", ".*/commit", r -> Answer.outcomeUnknown(StandInCoordinator.txidOf(r.path())));
        String id = UUID.randomUUID().toString();

        assertThatThrownBy(() -> service.transfer(id, false))
                .isInstanceOf(TransactionSystemException.class)
                .cause().isInstanceOfSatisfying(TransactionInDoubtException.class, e -> {
                    assertThat(e.getMessage()).contains(e.txid()).contains("coordinator will finish");
                    assertThat(e.preparedBranches()).hasSize(3);
                });
        assertThat(coordinator.requests("POST", ".*/rollback")).isEmpty();
        assertThat(H2Databases.recover("boot-orders")).isNotEmpty();
        assertThat(H2Databases.exists("boot-orders", id)).isFalse();
    }

    @Test
    void anExceptionInTheTransactionalMethodRollsEverythingBack() throws Exception {
        String id = UUID.randomUUID().toString();
        assertThatThrownBy(() -> service.transfer(id, true)).hasMessageContaining("business rule says no");

        assertThat(H2Databases.exists("boot-orders", id)).isFalse();
        assertThat(H2Databases.exists("boot-billing", id)).isFalse();
        jms.setReceiveTimeout(300);
        assertThat(jms.receiveAndConvert("transfers")).isNull();
        assertThat(coordinator.requests("POST", ".*/commit")).isEmpty();
    }
}
