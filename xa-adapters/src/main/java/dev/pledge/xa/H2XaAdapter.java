package dev.pledge.xa;

import org.h2.api.ErrorCode;
import org.h2.jdbcx.JdbcDataSource;

import javax.sql.XAConnection;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Arrays;

/**
 * H2 (server mode, {@code jdbc:h2:tcp://...}) through {@link JdbcDataSource}, which implements
 * XADataSource. H2 is NOT a crash-safe XA participant: a prepared branch is rolled back when the
 * preparing client closes its connection handle or XA connection in an orderly way (measured by
 * H2XaAdapterTest, written down in docs/resources.md). Bounds: H2's {@code NETWORK_TIMEOUT} (socket
 * read timeout, ms) is added to the URL unless it sets one; H2 bounds the TCP connect itself
 * ({@code h2.socketConnectTimeout}, 2 s).
 *
 * <p>Driver quirks patched here (H2 2.4.240):
 * <ul>
 * <li>{@code commit}/{@code rollback} of an unknown XID throws an XAException without an error code
 * (H2 error 90129, TRANSACTION_NOT_FOUND): translated to XAER_NOTA. Beware: because of the loss
 * above, on H2 "not found" can also mean "rolled back behind our back", not only "already committed".</li>
 * <li>{@code rollback(xid)} on a connection that has not seen the branch prepared runs a local
 * rollback and reports success without touching the prepared branch; it only issues
 * {@code ROLLBACK TRANSACTION} after a {@code recover} on the same connection found something. So
 * rollback recovers first and answers XAER_NOTA itself when the branch is not listed.</li>
 * </ul>
 */
final class H2XaAdapter extends AbstractXaAdapter {

    private final JdbcDataSource dataSource;
    private final JdbcDataSource pingDataSource;

    H2XaAdapter(ResourceConfig config) {
        super(config);
        if (!config.url().startsWith("jdbc:h2:")) {
            throw new IllegalArgumentException("resource '" + config.name() + "': not an H2 JDBC url: '"
                    + safeUrl(config.url()) + "' (expected jdbc:h2:tcp://host:port/name)");
        }
        this.dataSource = dataSource(config, OPERATION_TIMEOUT_SECONDS);
        this.pingDataSource = dataSource(config, PING_TIMEOUT_SECONDS);
    }

    private static JdbcDataSource dataSource(ResourceConfig config, int networkTimeoutSeconds) {
        JdbcDataSource ds = new JdbcDataSource();
        String url = config.url();
        if (!urlSets(url, "NETWORK_TIMEOUT")) {
            url += ";NETWORK_TIMEOUT=" + networkTimeoutSeconds * 1000;
        }
        ds.setURL(url);
        ds.setUser(config.user() == null ? "" : config.user());
        ds.setPassword(config.password() == null ? "" : config.password());
        ds.setLoginTimeout(CONNECT_TIMEOUT_SECONDS);
        return ds;
    }

    @Override
    protected XaSession open() throws SQLException {
        XAConnection connection = dataSource.getXAConnection();
        return XaSession.of(connection.getXAResource(), connection::close);
    }

    @Override
    protected String probe() throws SQLException {
        XAConnection xa = pingDataSource.getXAConnection();
        try (Connection c = xa.getConnection()) {
            return c.isValid(PING_TIMEOUT_SECONDS) ? null : "the connection did not answer a validity check";
        } finally {
            xa.close();
        }
    }

    @Override
    protected void rollbackPrepared(XAResource resource, Xid xid) throws XAException {
        boolean listed = false;
        for (Xid prepared : resource.recover(FULL_SCAN)) {
            listed |= sameXid(prepared, xid);
        }
        if (!listed) {
            throw new XAException(XAException.XAER_NOTA);
        }
        resource.rollback(xid);
    }

    @Override
    protected XAException translate(XAException e) {
        if (e.errorCode == 0 && e.getCause() instanceof SQLException
                && ((SQLException) e.getCause()).getErrorCode() == ErrorCode.TRANSACTION_NOT_FOUND_1) {
            XAException nota = new XAException(XAException.XAER_NOTA);
            nota.initCause(e);
            return nota;
        }
        return e;
    }

    @Override
    protected String diagnosticsNote() {
        return "H2 reports only the XIDs of its prepared branches, and rolls a branch back when its preparing"
                + " client closes the connection in an orderly way: not crash-safe (docs/resources.md)";
    }

    private static boolean sameXid(Xid a, Xid b) {
        return a.getFormatId() == b.getFormatId()
                && Arrays.equals(a.getGlobalTransactionId(), b.getGlobalTransactionId())
                && Arrays.equals(a.getBranchQualifier(), b.getBranchQualifier());
    }
}
