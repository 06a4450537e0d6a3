package dev.pledge.sdk.boot;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.function.Supplier;

/**
 * This service's participant callback base URL ({@code pledge.participant.callback-url}), and the path the
 * callbacks are served at. Without the property it is {@code http://<host>:<port><context path>/pledge/participant}:
 * the host from {@code server.address} or else this machine's address, the port the web server actually
 * listens on (known once it started, so a random port works). Resolved at the first branch registration.
 */
final class CallbackUrl implements Supplier<String> {
    private static final Logger log = LoggerFactory.getLogger(CallbackUrl.class);
    static final String DEFAULT_PATH = "/pledge/participant";
    private static final String PROPERTY = "pledge.participant.callback-url";

    private final String configured;
    private final Environment environment;
    private volatile String resolved;

    CallbackUrl(String configured, Environment environment) {
        this.environment = environment;
        this.configured = configured == null || configured.isBlank() ? null : validated(configured.trim());
    }

    private static String validated(String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + "='" + url + "' is not a URL: " + e.getMessage(), e);
        }
        if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
                || uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new IllegalArgumentException(PROPERTY + "='" + url + "' is invalid: give the absolute http(s) base URL"
                    + " the coordinator reaches this service's callbacks at, e.g. http://orders:8081/pledge/participant");
        }
        String text = uri.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return text;
    }

    /** The path the callback controller is mapped under, inside the servlet context. */
    String mappingPath() {
        String path = configured == null ? DEFAULT_PATH : URI.create(configured).getPath();
        if (path == null || path.isEmpty()) {
            return DEFAULT_PATH;
        }
        String context = contextPath();
        if (!context.isEmpty() && path.startsWith(context + "/")) {
            path = path.substring(context.length());
        }
        return path;
    }

    @Override
    public String get() {
        if (configured != null) {
            return configured;
        }
        String url = resolved;
        if (url != null) {
            return url;
        }
        Integer port = environment.getProperty("local.server.port", Integer.class);
        boolean started = port != null && port > 0;
        if (!started) {
            port = environment.getProperty("server.port", Integer.class, 8080);
        }
        if (port <= 0) {
            throw new IllegalStateException("this service's callback URL is not known yet (the web server has not"
                    + " started on its random port): set " + PROPERTY);
        }
        boolean ssl = environment.getProperty("server.ssl.enabled", Boolean.class, false);
        url = (ssl ? "https" : "http") + "://" + host() + ":" + port + contextPath() + DEFAULT_PATH;
        if (started) {
            resolved = url;
            log.info("Participant callback URL: {} (set {} if the coordinator reaches this service otherwise)", url,
                    PROPERTY);
        }
        return url;
    }

    private String contextPath() {
        String context = environment.getProperty("server.servlet.context-path", "");
        while (context.endsWith("/")) {
            context = context.substring(0, context.length() - 1);
        }
        return context;
    }

    private String host() {
        String address = environment.getProperty("server.address");
        try {
            InetAddress bound = address == null || address.isBlank() ? null : InetAddress.getByName(address.trim());
            InetAddress host = bound != null && !bound.isAnyLocalAddress() ? bound : InetAddress.getLocalHost();
            String text = host.getHostAddress();
            return text.contains(":") ? "[" + text + "]" : text;
        } catch (UnknownHostException e) {
            log.warn("Could not find this host's address ({}); the callback URL says localhost: set {}", e.getMessage(),
                    PROPERTY);
            return "localhost";
        }
    }

    @Override
    public String toString() {
        return configured != null ? configured : resolved != null ? resolved : "<resolved when the web server started>";
    }
}
