package dev.pledge.sdk;

import dev.pledge.xa.PledgeXid;
import dev.pledge.xa.XidCodec;
import org.h2.jdbcx.JdbcDataSource;

import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;

/** Real in-memory H2 databases (kept open for the JVM) with one table, {@code entries(id, note)}. */
public final class H2Databases {
    private H2Databases() {
    }

    public static String url(String name) {
        return "jdbc:h2:mem:" + name + ";DB_CLOSE_DELAY=-1";
    }

    public static JdbcDataSource dataSource(String name) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url(name));
        ds.setUser("sa");
        ds.setPassword("");
        return ds;
    }

    public static void create(String name) throws SQLException {
        try (Connection c = dataSource(name).getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS entries(id VARCHAR(64) PRIMARY KEY, note VARCHAR(200))");
        }
    }

    public static XAConnection xaConnection(String name) throws SQLException {
        return dataSource(name).getXAConnection();
    }

    private static final Map<XAConnection, Connection> HANDLES = Collections.synchronizedMap(new IdentityHashMap<>());

    /**
     * The one logical connection of an XA connection: H2's {@code getConnection()} closes the previous handle,
     * which rolls back and re-enables auto-commit under a running branch.
     */
    public static Connection handle(XAConnection xa) {
        return HANDLES.computeIfAbsent(xa, x -> {
            try {
                return x.getConnection();
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    public static void insert(XAConnection xa, String id) throws SQLException {
        try (Statement s = handle(xa).createStatement()) {
            s.executeUpdate("INSERT INTO entries(id, note) VALUES ('" + id + "', 'x')");
        }
    }

    public static void insert(Connection c, String id) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO entries(id, note) VALUES ('" + id + "', 'x')");
        }
    }

    /** Read from a fresh connection: sees only committed rows. */
    public static boolean exists(String name, String id) throws SQLException {
        try (Connection c = dataSource(name).getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM entries WHERE id = '" + id + "'")) {
            rs.next();
            return rs.getInt(1) == 1;
        }
    }

    /** Our prepared XIDs in the database, found from a new XA connection (what the coordinator's recovery sees). */
    public static List<PledgeXid> recover(String name) throws Exception {
        XAConnection xa = xaConnection(name);
        try {
            List<PledgeXid> ours = new ArrayList<>();
            for (Xid xid : xa.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) {
                Optional<PledgeXid> decoded = XidCodec.decode(xid, StandInCoordinator.CLUSTER);
                decoded.ifPresent(ours::add);
            }
            return ours;
        } finally {
            xa.close();
        }
    }

    /** Every prepared XID in Pledge's format, of any cluster, found from a new XA connection. */
    public static List<Xid> preparedXids(String name) throws Exception {
        XAConnection xa = xaConnection(name);
        try {
            List<Xid> ours = new ArrayList<>();
            for (Xid xid : xa.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) {
                if (xid.getFormatId() == XidCodec.FORMAT_ID) {
                    ours.add(xid);
                }
            }
            return ours;
        } finally {
            xa.close();
        }
    }

    /** Commits a prepared branch from a new connection, as the coordinator does through XA bridging. */
    public static void commitPrepared(String name, Xid xid) throws Exception {
        XAConnection xa = xaConnection(name);
        try {
            xa.getXAResource().commit(xid, false);
        } finally {
            xa.close();
        }
    }
}
