package dev.pledge.xa;

import dev.pledge.xa.PhaseTwoResult.Outcome;
import dev.pledge.testkit.ActiveMqBroker;
import dev.pledge.testkit.FreePort;
import dev.pledge.testkit.TcpProxy;
import jakarta.jms.Connection;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import jakarta.jms.XAConnection;
import jakarta.jms.XASession;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQXAConnectionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The ActiveMQ Classic adapter against a real embedded broker (KahaDB, TCP), one broker for the class. */
class ActiveMqXaAdapterTest {
    private static final AtomicInteger QUEUES = new AtomicInteger();
    private static ActiveMqBroker broker;
    private static XaResourceAdapter adapter;

    @BeforeAll
    static void startBroker() {
        broker = ActiveMqBroker.start();
        adapter = XaResourceAdapters.create(new ResourceConfig("orders-queue", "activemq", broker.url(), null, null));
    }

    @AfterAll
    static void stopBroker() throws Exception {
        broker.close();
    }

    @Test
    void preparedSendSurvivesConnectionCloseAndIsCommittedFromANewConnection() throws Exception {
        String queue = nextQueue();
        PledgeXid xid = TestXids.ours("orders-queue:app-1:1");
        XAConnection a = prepareSend(broker.url(), xid, queue, "order-1");
        a.close();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(receiveText(queue, 200)).as("a prepared send is not delivered yet").isNull();

        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);

        assertThat(receiveText(queue, 5_000)).isEqualTo("order-1");
        assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
    }

    @Test
    void rollbackFromANewConnectionDiscardsThePreparedSend() throws Exception {
        String queue = nextQueue();
        PledgeXid xid = TestXids.ours("orders-queue:app-1:1");
        prepareSend(broker.url(), xid, queue, "order-2").close();

        assertThat(adapter.rollback(xid).outcome()).isEqualTo(Outcome.DONE);

        assertThat(receiveText(queue, 300)).isNull();
        assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
    }

    @Test
    void preparedReceiveKeepsTheMessageFromOtherConsumersAndCommitConsumesIt() throws Exception {
        String queue = nextQueue();
        send(queue, "order-3");
        PledgeXid xid = TestXids.ours("orders-queue:app-1:1");
        XAConnection a = prepareReceive(broker.url(), xid, queue);
        a.close();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(receiveText(queue, 300)).as("a prepared acknowledgement hides the message").isNull();

        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);

        assertThat(receiveText(queue, 300)).as("consumed exactly once").isNull();
    }

    @Test
    void preparedSendSurvivesAbruptDisconnectOfThePreparingClient() throws Exception {
        String queue = nextQueue();
        PledgeXid xid = TestXids.ours("orders-queue:app-1:1");
        try (TcpProxy proxy = new TcpProxy(broker.port())) {
            XAConnection a = prepareSend(broker.url(proxy.port()), xid, queue, "order-4");
            proxy.cutAll();
            closeQuietly(a);
        }

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);
        assertThat(receiveText(queue, 5_000)).isEqualTo("order-4");
    }

    @Test
    void preparedSendSurvivesBrokerRestartAndCanBeCommitted() throws Exception {
        String queue = nextQueue();
        PledgeXid xid = TestXids.ours("orders-queue:app-1:1");
        prepareSend(broker.url(), xid, queue, "order-5").close();

        broker.restart();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);
        assertThat(receiveText(queue, 5_000)).isEqualTo("order-5");
    }

    @Test
    void recoverWithTmNoFlagsReturnsNothing() throws Exception {
        String queue = nextQueue();
        PledgeXid xid = TestXids.ours("orders-queue:app-1:1");
        prepareSend(broker.url(), xid, queue, "order-6").close();
        XAConnection c = new ActiveMQXAConnectionFactory(broker.url()).createXAConnection();
        try {
            c.start();
            XAResource resource = c.createXASession().getXAResource();
            assertThat(resource.recover(XAResource.TMNOFLAGS)).isEmpty();
            assertThat(resource.recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)).isNotEmpty();
        } finally {
            c.close();
            adapter.rollback(xid);
        }
    }

    @Test
    void phaseTwoOfAnUnknownXidIsAlreadyDoneNota() {
        PledgeXid unknown = TestXids.ours("orders-queue:app-1:1");

        PhaseTwoResult commit = adapter.commit(unknown);

        assertThat(commit.outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(commit.assumedCommitted()).isTrue();
        assertThat(adapter.rollback(unknown).outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        PhaseTwoResult forget = adapter.forget(unknown);
        assertThat(forget.outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(forget.message()).contains("orders-queue").contains("nothing to forget");
    }

    @Test
    void foreignXidsAreListedAsForeignAndNeverAsOurs() throws Exception {
        Xid otherFormat = TestXids.otherFormat();
        PledgeXid otherCluster = TestXids.otherCluster("orders-queue:app-9:1");
        prepareSend(broker.url(), otherFormat, nextQueue(), "x").close();
        prepareSend(broker.url(), otherCluster, nextQueue(), "y").close();
        try {
            RecoveredXids recovered = adapter.recover(TestXids.CLUSTER);

            assertThat(recovered.foreign()).contains(TestXids.raw(otherFormat), TestXids.raw(otherCluster));
            assertThat(recovered.ours()).noneMatch(otherCluster::sameAs);
        } finally {
            adapter.rollback(otherFormat);
            adapter.rollback(otherCluster);
        }
    }

    @Test
    void pingIsUpForARunningBrokerAndDownQuicklyForAClosedPort() {
        assertThat(adapter.ping().status()).isEqualTo(ResourceHealth.Status.UP);

        XaResourceAdapter nowhere = XaResourceAdapters.create(new ResourceConfig("gone-queue", "activemq",
                "tcp://127.0.0.1:" + FreePort.find(), "u", "secret"));
        ResourceHealth health = nowhere.ping();
        assertThat(health.status()).isEqualTo(ResourceHealth.Status.DOWN);
        assertThat(health.latency()).isLessThan(Duration.ofSeconds(6));
        assertThat(health.message()).contains("gone-queue").doesNotContain("secret");
        assertThat(nowhere.commit(TestXids.ours("b")).outcome()).isEqualTo(Outcome.RETRY);
        assertThatThrownBy(() -> nowhere.recover(TestXids.CLUSTER)).isInstanceOf(XaResourceException.class);
    }

    @Test
    void failoverUrlWithoutTimeoutIsRefused() {
        assertThatThrownBy(() -> XaResourceAdapters.create(new ResourceConfig("q", "activemq",
                "failover:(tcp://127.0.0.1:61616)", null, null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout=");
    }

    // --- helpers

    private static String nextQueue() {
        return "pledge.test." + QUEUES.incrementAndGet();
    }

    static XAConnection prepareSend(String url, Xid xid, String queue, String text) throws Exception {
        XAConnection connection = new ActiveMQXAConnectionFactory(url).createXAConnection();
        connection.start();
        XASession session = connection.createXASession();
        XAResource resource = session.getXAResource();
        resource.start(xid, XAResource.TMNOFLAGS);
        Queue q = session.createQueue(queue);
        session.createProducer(q).send(session.createTextMessage(text));
        resource.end(xid, XAResource.TMSUCCESS);
        assertThat(resource.prepare(xid)).isEqualTo(XAResource.XA_OK);
        return connection;
    }

    static XAConnection prepareReceive(String url, Xid xid, String queue) throws Exception {
        XAConnection connection = new ActiveMQXAConnectionFactory(url).createXAConnection();
        connection.start();
        XASession session = connection.createXASession();
        XAResource resource = session.getXAResource();
        MessageConsumer consumer = session.createConsumer(session.createQueue(queue));
        resource.start(xid, XAResource.TMNOFLAGS);
        assertThat(consumer.receive(5_000)).isNotNull();
        resource.end(xid, XAResource.TMSUCCESS);
        assertThat(resource.prepare(xid)).isEqualTo(XAResource.XA_OK);
        return connection;
    }

    private static void send(String queue, String text) throws Exception {
        Connection c = new ActiveMQConnectionFactory(broker.url()).createConnection();
        try {
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            s.createProducer(s.createQueue(queue)).send(s.createTextMessage(text));
        } finally {
            c.close();
        }
    }

    /** Receives (and acknowledges) one message, or null after {@code waitMillis}. */
    private static String receiveText(String queue, long waitMillis) throws Exception {
        Connection c = new ActiveMQConnectionFactory(broker.url()).createConnection();
        try {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Message m = s.createConsumer(s.createQueue(queue)).receive(waitMillis);
            return m == null ? null : ((TextMessage) m).getText();
        } finally {
            c.close();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // already dead
        }
    }
}
