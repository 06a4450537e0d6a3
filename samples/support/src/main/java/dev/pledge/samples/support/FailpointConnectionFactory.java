package dev.pledge.samples.support;

import dev.pledge.sdk.jta.NamedXAResource;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import jakarta.jms.Connection;
import jakarta.jms.JMSException;
import org.apache.activemq.jms.pool.ConnectionPool;
import org.apache.activemq.jms.pool.PooledSession;
import org.apache.activemq.jms.pool.XaConnectionPool;

import javax.transaction.xa.XAResource;

/** The SDK's pooled XA connection factory whose session XAResources stop at {@link Failpoint#AFTER_DECISION}. */
public class FailpointConnectionFactory extends dev.pledge.sdk.pool.PledgeXaPooledConnectionFactory {
    private static final long serialVersionUID = 1L;

    public FailpointConnectionFactory(PledgeTransactionManager tm, String resourceName) {
        super(tm, resourceName);
    }

    @Override
    protected ConnectionPool createConnectionPool(Connection connection) {
        return new XaConnectionPool(connection, getTransactionManager()) {
            @Override
            protected XAResource createXaResource(PooledSession session) throws JMSException {
                return new NamedXAResource(resourceName(), new FailpointXAResource(session.getXAResource()));
            }
        };
    }
}
