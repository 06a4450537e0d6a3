package dev.pledge.samples.queue;

import dev.pledge.samples.support.Databases;
import dev.pledge.samples.support.SampleCoordinator;
import dev.pledge.samples.support.SampleJvm;
import dev.pledge.testkit.ActiveMqBroker;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.xa.XidCodec;
import jakarta.jms.Connection;
import jakarta.jms.JMSException;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.QueueBrowser;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import jakarta.jms.XAConnection;
import jakarta.jms.XASession;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQXAConnectionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The queue consumer end to end: the real coordinator jar in its own JVM, PostgreSQL (database inbox),
 * an ActiveMQ broker with KahaDB on TCP, and the sample -- in this JVM, or in its own JVM where it is
 * killed. Every test checks the table, the queue, the dead-letter queue, and that neither PostgreSQL
 * nor the broker holds a prepared branch afterwards.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QueueConsumerIT {
    private static final String QUEUE = "sample.inbox";
    private static final String DLQ = "ActiveMQ.DLQ";

    @TempDir
    static Path tmp;

    static EmbeddedPostgresServer pg;
    static ActiveMqBroker broker;
    static CoordinatorProcess coordinator;
    static String inbox;
    static ConfigurableApplicationContext consumer;

    @BeforeAll
    static void start() throws Exception {
        pg = EmbeddedPostgresServer.start();
        Databases.create(pg, "inbox");
        inbox = Databases.url(pg, "inbox");
        broker = ActiveMqBroker.start();
        coordinator = SampleCoordinator.configure()
                .resource(InboxListener.INBOX_DB, "postgresql", inbox, EmbeddedPostgresServer.USER)
                .resource("broker", "activemq", broker.url(), null)
                .start(tmp.resolve("coordinator"));
        consumer = startConsumer();
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.close();
        }
        if (coordinator != null) {
            coordinator.close();
        }
        if (broker != null) {
            broker.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    static List<String> args(String... more) {
        Map<String, String> args = new LinkedHashMap<>();
        for (String arg : List.of(
                "--pledge.datasources.inbox-db.url=" + inbox,
                // two quick redeliveries, then the dead-letter queue
                "--pledge.jms.broker.broker-url=" + broker.url() + "?jms.redeliveryPolicy.maximumRedeliveries=2"
                        + "&jms.redeliveryPolicy.initialRedeliveryDelay=100&jms.redeliveryPolicy.redeliveryDelay=100",
                "--pledge.coordinator.url=" + coordinator.baseUrl(),
                "--pledge.coordinator.token=" + SampleCoordinator.TOKEN,
                "--spring.jms.listener.receive-timeout=500ms",
                "--spring.main.banner-mode=off", "--logging.level.root=WARN")) {
            args.put(arg.substring(0, arg.indexOf('=')), arg);
        }
        for (String arg : more) {
            args.put(arg.substring(0, arg.indexOf('=')), arg);
        }
        return new ArrayList<>(args.values());
    }

    static ConfigurableApplicationContext startConsumer() {
        return new SpringApplicationBuilder(QueueConsumerApplication.class).run(args().toArray(String[]::new));
    }

    @AfterEach
    void nothingPreparedNothingLeft() throws Exception {
        await().atMost(Duration.ofSeconds(30))
                .until(() -> Databases.preparedTransactions(pg) == 0 && preparedInBroker() == 0);
        assertThat(browse(QUEUE)).isEmpty();
    }

    @Test
    @Order(1)
    void receiveInsertAndAcknowledgeAreOneUnit() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(send("order " + i));
        }

        await().atMost(Duration.ofSeconds(60)).until(() -> rows(ids) == ids.size());
        for (String id : ids) {
            assertThat(Databases.queryLong(inbox, "SELECT delivery_count FROM inbox_message WHERE message_id = ?", id))
                    .as("deliveries of %s", id).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> browse(QUEUE).isEmpty());
        assertThat(browse(DLQ)).isEmpty();
    }

    @Test
    @Order(2)
    void rolledBackDeliveryLeavesNoRowAndTheMessageIsRedelivered() throws Exception {
        String failsOnce = send("fail-once: the first delivery rolls back");
        String failsAlways = send("always-fail: every delivery rolls back");

        // the first delivery inserted its row, then failed: the row went with the rollback, the message came back
        await().atMost(Duration.ofSeconds(60)).until(() -> rows(List.of(failsOnce)) == 1);
        assertThat(Databases.queryLong(inbox, "SELECT delivery_count FROM inbox_message WHERE message_id = ?",
                failsOnce)).isEqualTo(2);

        // every delivery rolled back: after the redeliveries the broker dead-letters it, and no row exists
        await().atMost(Duration.ofSeconds(60)).until(() -> browse(DLQ).contains(failsAlways));
        assertThat(rows(List.of(failsAlways))).isZero();
        receiveAll(DLQ);
    }

    @Test
    @Order(3)
    void consumerKilledAfterTheDecisionIsFinishedByTheCoordinatorExactlyOnce() throws Exception {
        consumer.close(); // only the consumer in its own JVM may take the next message
        consumer = null;
        String id = send("crash: the consumer dies after the decision");
        SampleJvm.FailpointHit hit;
        try (SampleJvm sample = SampleJvm.start(QueueCrashMain.class, tmp.resolve("queue-crash.out"), args())) {
            hit = sample.awaitFailpoint(Duration.ofSeconds(120));

            // decided COMMITTED; the insert and the receive both prepared, neither committed; then the process dies
            assertThat(Databases.preparedTransactions(pg)).isEqualTo(1);
            assertThat(preparedInBroker()).isEqualTo(1);
            assertThat(rows(List.of(id))).isZero();
            sample.kill();
        }

        // after its completion grace the coordinator commits both branches over its own XA connections
        await().atMost(Duration.ofSeconds(60))
                .until(() -> Databases.preparedTransactions(pg) == 0 && preparedInBroker() == 0);
        assertThat(rows(List.of(id))).isEqualTo(1);
        JsonNode tx = SampleCoordinator.api(coordinator).get("/api/v1/transactions/" + hit.txid()).json();
        assertThat(tx.get("state").asString()).isEqualTo("COMMITTED");
        assertThat(tx.get("branches")).hasSize(2)
                .allSatisfy(b -> assertThat(b.get("state").asString()).isEqualTo("COMMITTED"));

        // a restarted consumer never sees the message again: the next one it gets is the next one sent
        consumer = startConsumer();
        String next = send("after the restart");
        await().atMost(Duration.ofSeconds(60)).until(() -> rows(List.of(next)) == 1);
        assertThat(consumer.getBean(InboxListener.class).deliveries()).isEqualTo(1);
        assertThat(rows(List.of(id))).isEqualTo(1);
        assertThat(browse(DLQ)).isEmpty();
    }

    @Test
    @Order(4)
    void theExecutableJarConsumesTheMessagesItSends() throws Exception {
        if (consumer != null) {
            consumer.close(); // the jar alone consumes
            consumer = null;
        }
        try (SampleJvm jar = SampleJvm.startJar(Path.of(System.getProperty("sample.jar")),
                tmp.resolve("queue-jar.out"), args("--inbox.send-on-start=5"))) {
            await().atMost(Duration.ofSeconds(120)).until(() -> Databases.queryLong(inbox,
                    "SELECT count(*) FROM inbox_message WHERE body LIKE 'demo message %'") == 5);
            assertThat(jar.stop(Duration.ofSeconds(60))).as(jar.output()).isIn(0, 143);
        }
        assertThat(Databases.queryLong(inbox, "SELECT count(*) FROM inbox_message WHERE body LIKE 'demo message %'"
                + " AND delivery_count = 1")).isEqualTo(5);
    }

    private static long rows(List<String> messageIds) {
        long n = 0;
        for (String id : messageIds) {
            n += Databases.queryLong(inbox, "SELECT count(*) FROM inbox_message WHERE message_id = ?", id);
        }
        return n;
    }

    /** Sends a persistent text message outside any transaction; returns its JMS message id. */
    private static String send(String body) throws JMSException {
        try (Connection c = new ActiveMQConnectionFactory(broker.url()).createConnection()) {
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer p = s.createProducer(s.createQueue(QUEUE));
            TextMessage m = s.createTextMessage(body);
            p.send(m);
            return m.getJMSMessageID();
        }
    }

    /** The ids of the messages a queue holds and could deliver now. */
    private static List<String> browse(String queue) throws JMSException {
        try (Connection c = new ActiveMQConnectionFactory(broker.url()).createConnection()) {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue q = s.createQueue(queue);
            List<String> ids = new ArrayList<>();
            try (QueueBrowser b = s.createBrowser(q)) {
                for (Object m : Collections.list(b.getEnumeration())) {
                    ids.add(((jakarta.jms.Message) m).getJMSMessageID());
                }
            }
            return ids;
        }
    }

    private static void receiveAll(String queue) throws JMSException {
        try (Connection c = new ActiveMQConnectionFactory(broker.url()).createConnection()) {
            c.start();
            Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
            var consumer = s.createConsumer(s.createQueue(queue));
            while (consumer.receive(200) != null) {
                // drained
            }
        }
    }

    /** Our prepared XA branches in the broker (recover needs TMSTARTRSCAN on ActiveMQ: docs/resources.md). */
    private static int preparedInBroker() throws Exception {
        try (XAConnection c = new ActiveMQXAConnectionFactory(broker.url()).createXAConnection()) {
            XASession s = c.createXASession();
            int ours = 0;
            for (Xid xid : s.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) {
                if (xid.getFormatId() == XidCodec.FORMAT_ID) {
                    ours++;
                }
            }
            return ours;
        }
    }
}
