package dev.pledge.samples.support;

import dev.pledge.testkit.EmbeddedPostgresServer;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Plain JDBC over the test's databases, to check what really is in them (never through the sample's pools). */
public final class Databases {
    private Databases() {
    }

    /** Creates databases in the embedded PostgreSQL server. */
    public static void create(EmbeddedPostgresServer pg, String... names) {
        for (String name : names) {
            pg.execute("CREATE DATABASE " + name);
        }
    }

    /** The JDBC URL of one database of the embedded server. */
    public static String url(EmbeddedPostgresServer pg, String database) {
        return "jdbc:postgresql://127.0.0.1:" + pg.port() + "/" + database;
    }

    /** Prepared transactions in every database of the server (pg_prepared_xacts is cluster-wide). */
    public static long preparedTransactions(EmbeddedPostgresServer pg) {
        return queryLong(url(pg, EmbeddedPostgresServer.DATABASE), "SELECT count(*) FROM pg_prepared_xacts");
    }

    public static long queryLong(String url, String sql, Object... args) {
        List<Object> rows = column(url, sql, args);
        Object v = rows.isEmpty() ? null : rows.get(0);
        return v == null ? 0 : ((Number) v).longValue();
    }

    /** The first column of every row. */
    public static List<Object> column(String url, String sql, Object... args) {
        try (Connection c = connect(url); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            List<Object> out = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.add(r.getObject(1));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql + " on " + url + ": " + e.getMessage(), e);
        }
    }

    public static int update(String url, String sql, Object... args) {
        try (Connection c = connect(url); PreparedStatement s = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                s.setObject(i + 1, args[i]);
            }
            return s.executeUpdate();
        } catch (SQLException e) {
            throw new IllegalStateException(sql + " on " + url + ": " + e.getMessage(), e);
        }
    }

    private static Connection connect(String url) throws SQLException {
        return url.startsWith("jdbc:postgresql:")
                ? DriverManager.getConnection(url, EmbeddedPostgresServer.USER, "")
                : DriverManager.getConnection(url, "sa", "");
    }
}
