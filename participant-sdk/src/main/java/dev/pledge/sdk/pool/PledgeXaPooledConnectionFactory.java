package dev.pledge.sdk.pool;

import dev.pledge.sdk.jta.NamedXAResource;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import jakarta.jms.Connection;
import jakarta.jms.JMSException;
import org.apache.activemq.jms.pool.ConnectionPool;
import org.apache.activemq.jms.pool.PooledSession;
import org.apache.activemq.jms.pool.XaConnectionPool;
import org.apache.activemq.jms.pool.XaPooledConnectionFactory;

import javax.transaction.xa.XAResource;

/**
 * activemq-jms-pool's {@link XaPooledConnectionFactory} whose sessions enlist under a resource name.
 * jms-pool enlists each XA session it hands out inside a transaction through
 * {@code tm.getTransaction().enlistResource(createXaResource(session))}; this class overrides that
 * {@code createXaResource} hook (the one jms-pool's own JCA variant uses) to wrap the session's
 * XAResource in a {@link NamedXAResource}. Give it an {@code XAConnectionFactory}
 * ({@code ActiveMQXAConnectionFactory}), as with the parent.
 */
public class PledgeXaPooledConnectionFactory extends XaPooledConnectionFactory {
    private static final long serialVersionUID = 1L;

    private final String resourceName;

    public PledgeXaPooledConnectionFactory(PledgeTransactionManager tm, String resourceName) {
        this.resourceName = NamedXAResource.requireValidName(resourceName);
        setTransactionManager(tm);
        tm.registerResourceName(resourceName);
    }

    public String resourceName() {
        return resourceName;
    }

    @Override
    protected ConnectionPool createConnectionPool(Connection connection) {
        return new XaConnectionPool(connection, getTransactionManager()) {
            @Override
            protected XAResource createXaResource(PooledSession session) throws JMSException {
                return new NamedXAResource(resourceName, session.getXAResource());
            }
        };
    }
}
