package dev.pledge.coordinator.testsupport;

import dev.pledge.testkit.ApiClient;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A real coordinator on a random port with a file log in a fresh directory, shared by the API tests. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
public abstract class CoordinatorTestBase {
    public static final String TOKEN = "test-bootstrap-token";
    public static final String VIEWER_TOKEN = "viewer-token";
    private static final Path DATA_DIR;

    static {
        try {
            DATA_DIR = Files.createTempDirectory("pledge-api-test");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @LocalServerPort
    protected int port;
    protected ApiClient api;
    protected ApiClient anonymous;

    @DynamicPropertySource
    static void coordinatorProperties(DynamicPropertyRegistry registry) {
        registry.add("pledge.data-dir", DATA_DIR::toString);
        registry.add("pledge.cluster-id", () -> "t1");
        registry.add("pledge.security.bootstrap-token", () -> TOKEN);
        registry.add("pledge.security.tokens.viewer.sha256",
                () -> "d036bd6d01a1cae081d39a2f8dab751dc042de814fd60df31fcb553170950f29"); // sha256("viewer-token")
        registry.add("pledge.security.tokens.viewer.roles", () -> "VIEWER");
        registry.add("pledge.participant.prepare-timeout", () -> "2s");
        registry.add("pledge.participant.call-timeout", () -> "2s");
        registry.add("pledge.phase-two.initial-backoff", () -> "50ms");
        registry.add("pledge.phase-two.max-backoff", () -> "500ms");
    }

    @BeforeEach
    void clients() {
        api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
        anonymous = new ApiClient("http://127.0.0.1:" + port, null);
    }
}
