package dev.pledge.samples.support;

import org.postgresql.xa.PGXADataSource;

import javax.sql.ConnectionEventListener;
import javax.sql.StatementEventListener;
import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * pgjdbc's XADataSource whose connections' XAResources stop at {@link Failpoint#AFTER_DECISION}. Agroal
 * instantiates it by class name, exactly as it does {@code PGXADataSource} for the SDK's pools.
 */
public class FailpointPostgresXADataSource extends PGXADataSource {
    private static final long serialVersionUID = 1L;

    // PGXADataSource.getXAConnection() delegates to this one
    @Override
    public XAConnection getXAConnection(String user, String password) throws SQLException {
        return new Wrapped(super.getXAConnection(user, password));
    }

    private static final class Wrapped implements XAConnection {
        private final XAConnection delegate;
        private final XAResource xaResource;

        Wrapped(XAConnection delegate) throws SQLException {
            this.delegate = delegate;
            this.xaResource = new FailpointXAResource(delegate.getXAResource());
        }

        @Override
        public XAResource getXAResource() {
            return xaResource;
        }

        @Override
        public Connection getConnection() throws SQLException {
            return delegate.getConnection();
        }

        @Override
        public void close() throws SQLException {
            delegate.close();
        }

        @Override
        public void addConnectionEventListener(ConnectionEventListener listener) {
            delegate.addConnectionEventListener(listener);
        }

        @Override
        public void removeConnectionEventListener(ConnectionEventListener listener) {
            delegate.removeConnectionEventListener(listener);
        }

        @Override
        public void addStatementEventListener(StatementEventListener listener) {
            delegate.addStatementEventListener(listener);
        }

        @Override
        public void removeStatementEventListener(StatementEventListener listener) {
            delegate.removeStatementEventListener(listener);
        }
    }
}
