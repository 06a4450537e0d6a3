package dev.pledge.xa;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A resource that accepts TCP connections and never answers (a hung server, a half-open network)
 * must not hang a health check: every adapter's ping ends DOWN within its bound.
 */
class UnresponsiveResourceTest {
    private static ServerSocket blackHole;
    private static final List<Socket> accepted = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void openBlackHole() throws IOException {
        blackHole = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!blackHole.isClosed()) {
                try {
                    accepted.add(blackHole.accept()); // keep it open, never read or write
                } catch (IOException e) {
                    return;
                }
            }
        }, "black-hole");
        t.setDaemon(true);
        t.start();
    }

    @AfterAll
    static void closeBlackHole() throws IOException {
        blackHole.close();
        for (Socket s : accepted) {
            s.close();
        }
    }

    @Test
    void pingOfAServerThatNeverAnswersIsDownWithinItsBound() {
        int port = blackHole.getLocalPort();
        List<XaResourceAdapter> adapters = List.of(
                XaResourceAdapters.create(new ResourceConfig("pg", "postgresql",
                        "jdbc:postgresql://127.0.0.1:" + port + "/db", "u", "p")),
                XaResourceAdapters.create(new ResourceConfig("h2", "h2", "jdbc:h2:tcp://127.0.0.1:" + port + "/db",
                        "sa", "")),
                XaResourceAdapters.create(new ResourceConfig("mq", "activemq", "tcp://127.0.0.1:" + port, null, null)));

        // in parallel: each waits out its own bound
        ExecutorService threads = Executors.newFixedThreadPool(adapters.size());
        List<ResourceHealth> results;
        try {
            results = adapters.stream()
                    .map(a -> CompletableFuture.supplyAsync(a::ping, threads))
                    .collect(Collectors.toList()).stream()
                    .map(CompletableFuture::join)
                    .collect(Collectors.toList());
        } finally {
            threads.shutdownNow();
        }

        assertThat(results).allSatisfy(health -> {
            assertThat(health.status()).as(health.resource()).isEqualTo(ResourceHealth.Status.DOWN);
            assertThat(health.latency()).as(health.resource()).isLessThan(Duration.ofSeconds(8));
            assertThat(health.message()).contains(health.resource());
        });
    }
}
