package dev.pledge.samples.queue;

import jakarta.jms.JMSException;
import jakarta.jms.TextMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jms.annotation.JmsListener;
import org.springframework.stereotype.Component;

import javax.sql.DataSource;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Receive, write, acknowledge -- one transaction. Spring Boot gives the listener container the SDK's
 * {@code JtaTransactionManager}, so each delivery runs in a Pledge transaction: the container's JMS session
 * (from the SDK's pooled XA connection factory) and the insert (from the SDK's XA pool) are its two
 * branches. If anything fails, both roll back: no row, and the broker delivers the message again. If the
 * process dies after the coordinator's decision, the coordinator finishes both branches itself.
 *
 * <p>To watch a rollback, send a body starting with {@code fail-once:} (the first delivery fails after its
 * insert, the redelivery succeeds) or {@code always-fail:} (every delivery fails; after the broker URL's
 * {@code jms.redeliveryPolicy.maximumRedeliveries} the broker moves it to {@code ActiveMQ.DLQ}).
 */
@Component
public class InboxListener {
    public static final String INBOX_DB = "inbox-db";
    private static final Logger log = LoggerFactory.getLogger(InboxListener.class);

    private final JdbcTemplate inbox;
    private final AtomicLong deliveries = new AtomicLong();

    public InboxListener(@Qualifier(INBOX_DB) DataSource inbox, InboxSchema schema) {
        this.inbox = new JdbcTemplate(inbox);
    }

    @JmsListener(destination = "${inbox.queue}")
    public void onMessage(TextMessage message) throws JMSException {
        deliveries.incrementAndGet();
        String id = message.getJMSMessageID();
        String body = message.getText();
        int deliveryCount = message.getIntProperty("JMSXDeliveryCount");
        inbox.update("INSERT INTO inbox_message (message_id, body, delivery_count) VALUES (?, ?, ?)",
                id, body, deliveryCount);
        if (body.startsWith("always-fail:") || (body.startsWith("fail-once:") && deliveryCount == 1)) {
            throw new IllegalStateException("simulated failure processing " + id + " (delivery " + deliveryCount
                    + "): the insert and the acknowledgement roll back together");
        }
        log.info("Stored message {} (delivery {})", id, deliveryCount);
    }

    /** Deliveries this process has seen, failed ones included. */
    public long deliveries() {
        return deliveries.get();
    }
}
