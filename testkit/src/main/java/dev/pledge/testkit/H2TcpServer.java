package dev.pledge.testkit;

import org.h2.tools.Server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;

/**
 * An H2 TCP server (databases are created on first connect under a temporary base directory) that
 * can be restarted on the same port and files. Start it once per test class.
 */
public final class H2TcpServer implements AutoCloseable {
    private final Path baseDir;
    private final int port;
    private Server server;

    private H2TcpServer(Path baseDir, int port) {
        this.baseDir = baseDir;
        this.port = port;
    }

    public static H2TcpServer start() {
        try {
            H2TcpServer h2 = new H2TcpServer(Files.createTempDirectory("pledge-h2-"), FreePort.find());
            h2.launch();
            return h2;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch() {
        try {
            server = Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists",
                    "-baseDir", baseDir.toString()).start();
        } catch (SQLException e) {
            throw new IllegalStateException("H2 TCP server did not start on port " + port, e);
        }
    }

    /** Stops the server (closing every session and database) and starts it again on the same port and files. */
    public void restart() {
        server.stop();
        launch();
    }

    public int port() {
        return port;
    }

    /** {@code jdbc:h2:tcp://127.0.0.1:port/name}, optionally through another port (a {@link TcpProxy}). */
    public String jdbcUrl(String database, int viaPort) {
        return "jdbc:h2:tcp://127.0.0.1:" + viaPort + "/" + database;
    }

    public String jdbcUrl(String database) {
        return jdbcUrl(database, port);
    }

    @Override
    public void close() throws IOException {
        server.stop();
        Directories.deleteRecursively(baseDir);
    }
}
