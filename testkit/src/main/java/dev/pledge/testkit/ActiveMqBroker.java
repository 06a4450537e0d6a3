package dev.pledge.testkit;

import org.apache.activemq.broker.BrokerService;
import org.apache.activemq.store.kahadb.KahaDBPersistenceAdapter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An embedded ActiveMQ Classic broker with KahaDB persistence in a temporary directory and one TCP
 * connector on a free loopback port; restartable on the same store and port. Start it once per test class.
 */
public final class ActiveMqBroker implements AutoCloseable {
    private final Path dataDirectory;
    private final int port;
    private BrokerService broker;

    private ActiveMqBroker(Path dataDirectory, int port) {
        this.dataDirectory = dataDirectory;
        this.port = port;
    }

    public static ActiveMqBroker start() {
        try {
            ActiveMqBroker b = new ActiveMqBroker(Files.createTempDirectory("pledge-amq-"), FreePort.find());
            b.launch();
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch() {
        try {
            BrokerService service = new BrokerService();
            service.setBrokerName("pledge-test");
            service.setUseJmx(false);
            service.setUseShutdownHook(false);
            service.setAdvisorySupport(false);
            service.setSchedulerSupport(false);
            service.setPersistent(true);
            service.setDataDirectoryFile(dataDirectory.toFile());
            KahaDBPersistenceAdapter kahaDb = new KahaDBPersistenceAdapter();
            kahaDb.setDirectory(dataDirectory.resolve("kahadb").toFile());
            service.setPersistenceAdapter(kahaDb);
            service.addConnector("tcp://127.0.0.1:" + port);
            service.start();
            if (!service.waitUntilStarted(30_000)) {
                throw new IllegalStateException("broker did not start within 30 s");
            }
            broker = service;
        } catch (Exception e) {
            throw new IllegalStateException("ActiveMQ broker did not start on port " + port, e);
        }
    }

    /** Stops the broker and starts a new one on the same KahaDB directory and port. */
    public void restart() {
        stop();
        launch();
    }

    private void stop() {
        try {
            broker.stop();
            broker.waitUntilStopped();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public int port() {
        return port;
    }

    public String url() {
        return url(port);
    }

    /** The broker URL through another port (e.g. a {@link TcpProxy}). */
    public String url(int viaPort) {
        return "tcp://127.0.0.1:" + viaPort;
    }

    @Override
    public void close() throws IOException {
        stop();
        Directories.deleteRecursively(dataDirectory);
    }
}
