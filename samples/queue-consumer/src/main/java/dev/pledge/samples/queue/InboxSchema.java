package dev.pledge.samples.queue;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import javax.sql.DataSource;

/**
 * Creates the inbox table when missing, outside any global transaction, before the listener starts (the
 * listener depends on this bean). The primary key is the JMS message id: the database itself would
 * refuse a second row for one message.
 */
@Component
public class InboxSchema implements InitializingBean {
    static final String TABLE = "CREATE TABLE IF NOT EXISTS inbox_message (message_id VARCHAR(128) PRIMARY KEY,"
            + " body TEXT NOT NULL, delivery_count INTEGER NOT NULL,"
            + " received_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL)";

    private final JdbcTemplate inbox;

    public InboxSchema(@Qualifier(InboxListener.INBOX_DB) DataSource inbox) {
        this.inbox = new JdbcTemplate(inbox);
    }

    @Override
    public void afterPropertiesSet() {
        inbox.execute(TABLE);
    }
}
