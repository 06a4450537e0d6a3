package dev.pledge.xa;

import org.postgresql.xa.PGXADataSource;

import javax.sql.XAConnection;
import javax.transaction.xa.Xid;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.pledge.xa.ResourceDiagnostics.HeldLock;
import dev.pledge.xa.ResourceDiagnostics.PreparedBranch;

/**
 * PostgreSQL through pgjdbc's {@link PGXADataSource}. Prepared branches are PostgreSQL prepared
 * transactions ({@code PREPARE TRANSACTION}); pgjdbc names them {@code formatId_base64(gtrid)_base64(bqual)}
 * and its {@code recover} lists only those of the connected database. Timeouts: loginTimeout and
 * connectTimeout {@value #CONNECT_TIMEOUT_SECONDS} s, socketTimeout {@value #OPERATION_TIMEOUT_SECONDS} s
 * ({@value #PING_TIMEOUT_SECONDS} s for ping) unless the URL sets them.
 */
final class PostgresXaAdapter extends AbstractXaAdapter {

    /**
     * Prepared transactions of this database with their locks. Locks of a prepared transaction have
     * {@code pid} NULL; they are found through the virtual transaction that holds the ExclusiveLock on
     * the prepared transaction's own xid (PostgreSQL 14 shows it as {@code -1/<xid>}, but that format
     * is an implementation detail, so the join does not rely on it). See docs/resources.md.
     */
    static final String PREPARED_WITH_LOCKS = ""
            + "SELECT p.gid, p.prepared, p.owner, p.database, now() AS observed_at,"
            + "       l.locktype, l.mode, l.granted,"
            + "       CASE WHEN l.relation IS NOT NULL THEN l.relation::regclass::text"
            + "            WHEN l.locktype = 'transactionid' THEN 'xid ' || l.transactionid::text"
            + "            WHEN l.locktype = 'virtualxid' THEN 'vxid ' || l.virtualxid"
            + "            ELSE l.locktype END AS target"
            + "  FROM pg_prepared_xacts p"
            + "  LEFT JOIN pg_locks own ON own.locktype = 'transactionid' AND own.transactionid = p.transaction"
            + "                        AND own.mode = 'ExclusiveLock' AND own.granted AND own.pid IS NULL"
            + "  LEFT JOIN pg_locks l ON l.virtualtransaction = own.virtualtransaction AND l.pid IS NULL"
            + " WHERE p.database = current_database()"
            + " ORDER BY p.prepared, p.gid, l.locktype, target, l.mode";

    private final PGXADataSource dataSource;
    private final PGXADataSource pingDataSource;

    PostgresXaAdapter(ResourceConfig config) {
        super(config);
        this.dataSource = dataSource(config, OPERATION_TIMEOUT_SECONDS);
        this.pingDataSource = dataSource(config, PING_TIMEOUT_SECONDS);
    }

    private static PGXADataSource dataSource(ResourceConfig config, int socketTimeoutSeconds) {
        PGXADataSource ds = new PGXADataSource();
        try {
            ds.setUrl(config.url());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("resource '" + config.name() + "': not a PostgreSQL JDBC url: '"
                    + safeUrl(config.url()) + "' (expected jdbc:postgresql://host:port/database)", e);
        }
        if (config.user() != null) {
            ds.setUser(config.user());
        }
        if (config.password() != null) {
            ds.setPassword(config.password());
        }
        // setUrl has copied the URL's parameters; only fill in what it left unset
        if (!urlSets(config.url(), "loginTimeout")) {
            ds.setLoginTimeout(CONNECT_TIMEOUT_SECONDS);
        }
        if (!urlSets(config.url(), "connectTimeout")) {
            ds.setConnectTimeout(CONNECT_TIMEOUT_SECONDS);
        }
        if (!urlSets(config.url(), "socketTimeout")) {
            ds.setSocketTimeout(socketTimeoutSeconds);
        }
        if (!urlSets(config.url(), "ApplicationName")) {
            ds.setApplicationName("pledge-xa " + config.name());
        }
        return ds;
    }

    @Override
    protected XaSession open() throws SQLException {
        XAConnection connection = dataSource.getXAConnection();
        try {
            return XaSession.of(connection.getXAResource(), connection::close);
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    @Override
    protected String probe() throws SQLException {
        XAConnection xa = pingDataSource.getXAConnection();
        try (Connection c = xa.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_setting('max_prepared_transactions')::int")) {
            rs.next();
            int max = rs.getInt(1);
            return max > 0 ? null
                    : "max_prepared_transactions is 0, so PostgreSQL refuses PREPARE TRANSACTION: set it > 0"
                      + " (at least max_connections) in postgresql.conf and restart PostgreSQL";
        } finally {
            xa.close();
        }
    }

    @Override
    public ResourceDiagnostics diagnostics(String clusterId) {
        try {
            XAConnection xa = dataSource.getXAConnection();
            try (Connection c = xa.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(PREPARED_WITH_LOCKS)) {
                Instant observedAt = null;
                Map<String, PreparedRow> byGid = new LinkedHashMap<>();
                while (rs.next()) {
                    observedAt = rs.getTimestamp("observed_at").toInstant();
                    String gid = rs.getString("gid");
                    PreparedRow row = byGid.get(gid);
                    if (row == null) {
                        Timestamp prepared = rs.getTimestamp("prepared");
                        row = new PreparedRow(gid, prepared.toInstant(), rs.getString("owner"),
                                rs.getString("database"));
                        byGid.put(gid, row);
                    }
                    if (rs.getString("locktype") != null) {
                        row.locks.add(new HeldLock(rs.getString("locktype"), rs.getString("mode"),
                                rs.getBoolean("granted"), rs.getString("target")));
                    }
                }
                if (observedAt == null) {
                    observedAt = Instant.now();
                }
                List<PreparedBranch> branches = new ArrayList<>();
                for (PreparedRow row : byGid.values()) {
                    Xid xid = gidToXid(row.gid);
                    PledgeXid ours = xid == null ? null : XidCodec.decode(xid, clusterId).orElse(null);
                    branches.add(new PreparedBranch(ours != null ? ours : xid, ours != null, row.gid,
                            row.preparedAt, Duration.between(row.preparedAt, observedAt), row.database,
                            row.owner, row.locks));
                }
                return new ResourceDiagnostics(name(), type(), observedAt, branches, null);
            } finally {
                xa.close();
            }
        } catch (SQLException | RuntimeException e) {
            throw new XaResourceException(name(), describe() + ": reading pg_prepared_xacts/pg_locks failed: "
                    + failureText(e) + ". Check that the resource is up and its user may read pg_locks.", e);
        }
    }

    /**
     * pgjdbc's GID format {@code formatId_base64(gtrid)_base64(bqual)} back to an XID; null for a GID
     * that is not an XA branch (a hand-made {@code PREPARE TRANSACTION 'name'}). Base64 has no '_'.
     */
    static Xid gidToXid(String gid) {
        int a = gid.indexOf('_');
        int b = gid.lastIndexOf('_');
        if (a <= 0 || a == b) {
            return null;
        }
        try {
            int formatId = Integer.parseInt(gid.substring(0, a));
            byte[] gtrid = Base64.getDecoder().decode(gid.substring(a + 1, b));
            byte[] bqual = Base64.getDecoder().decode(gid.substring(b + 1));
            return new ForeignXid(formatId, gtrid, bqual);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The inverse of {@link #gidToXid}, as pgjdbc writes it. */
    static String xidToGid(Xid xid) {
        return xid.getFormatId() + "_" + Base64.getEncoder().encodeToString(xid.getGlobalTransactionId()) + "_"
                + Base64.getEncoder().encodeToString(xid.getBranchQualifier());
    }

    private static final class PreparedRow {
        final String gid;
        final Instant preparedAt;
        final String owner;
        final String database;
        final List<HeldLock> locks = new ArrayList<>();

        PreparedRow(String gid, Instant preparedAt, String owner, String database) {
            this.gid = gid;
            this.preparedAt = preparedAt;
            this.owner = owner;
            this.database = database;
        }
    }
}
