package dev.pledge.sdk;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A scripted stand-in for the coordinator's HTTP API, for client-protocol behaviours only (redirects,
 * retries, outcome-unknown). It decides nothing: begin hands out txids, commit answers COMMITTED,
 * rollback ABORTED, unless a test scripts another answer. Every request is recorded. The real
 * coordinator is exercised end to end in {@code samples/}.
 */
public final class StandInCoordinator implements AutoCloseable {
    public static final String CLUSTER = "test";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A canned answer. */
    public record Answer(int status, Map<String, String> headers, String body) {
        public static Answer json(int status, String body) {
            return new Answer(status, Map.of("Content-Type", "application/json"), body);
        }

        public static Answer problem(int status, String type, String detail, String txid, Map<String, String> headers) {
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put("Content-Type", "application/problem+json");
            return new Answer(status, h, "{\"type\":\"https://pledge.dev/problems/" + type + "\",\"title\":\"" + type
                    + "\",\"status\":" + status + ",\"detail\":\"" + detail + "\""
                    + (txid == null ? "" : ",\"txid\":\"" + txid + "\"") + "}");
        }

        public static Answer outcomeUnknown(String txid) {
            return problem(503, "outcome-unknown", "the decision's durability is not known yet: ask again", txid,
                    Map.of("Retry-After", "0"));
        }
    }

    /** One request as received. */
    public record Request(String method, String path, Map<String, List<String>> headers, String body) {
        public JsonNode json() {
            return body.isEmpty() ? null : JSON.readTree(body);
        }

        public String header(String name) {
            for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().get(0);
                }
            }
            return null;
        }
    }

    private record Rule(String method, Pattern path, Deque<Answer> once, Function<Request, Answer> always) {
    }

    private final HttpServer server;
    private final AtomicLong seq = new AtomicLong();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final List<Rule> rules = new ArrayList<>();

    public StandInCoordinator() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Answers the next matching requests with {@code answers}, in order, then falls back to the defaults. */
    public synchronized StandInCoordinator next(String method, String pathRegex, Answer... answers) {
        rules.add(0, new Rule(method, Pattern.compile(pathRegex), new ArrayDeque<>(List.of(answers)), null));
        return this;
    }

    /** Answers every matching request with {@code answer} (until {@link #reset()}). */
    public synchronized StandInCoordinator always(String method, String pathRegex, Function<Request, Answer> answer) {
        rules.add(0, new Rule(method, Pattern.compile(pathRegex), null, answer));
        return this;
    }

    public synchronized void reset() {
        rules.clear();
        requests.clear();
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    public List<Request> requests(String method, String pathRegex) {
        Pattern p = Pattern.compile(pathRegex);
        List<Request> matching = new ArrayList<>();
        for (Request r : requests) {
            if (r.method().equals(method) && p.matcher(r.path()).matches()) {
                matching.add(r);
            }
        }
        return matching;
    }

    private void handle(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        Request request = new Request(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                Map.copyOf(exchange.getRequestHeaders()), body);
        requests.add(request);
        Answer answer = scripted(request);
        if (answer == null) {
            answer = defaults(request);
        }
        byte[] bytes = answer.body() == null ? new byte[0] : answer.body().getBytes(StandardCharsets.UTF_8);
        answer.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
        exchange.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    private synchronized Answer scripted(Request r) {
        for (Rule rule : rules) {
            if (rule.method().equals(r.method()) && rule.path().matcher(r.path()).matches()) {
                if (rule.always() != null) {
                    return rule.always().apply(r);
                }
                if (!rule.once().isEmpty()) {
                    return rule.once().poll();
                }
            }
        }
        return null;
    }

    private Answer defaults(Request r) {
        String path = r.path();
        if (r.method().equals("POST") && path.equals("/api/v1/transactions")) {
            JsonNode req = r.json();
            long timeoutMs = req != null && req.hasNonNull("timeoutMs") ? req.get("timeoutMs").asLong() : 30_000;
            String txid = CLUSTER + ":1:" + seq.incrementAndGet();
            return Answer.json(201, "{\"txid\":\"" + txid + "\",\"deadline\":\"" + Instant.now().plusMillis(timeoutMs)
                    + "\",\"xidFormatId\":1347175495}");
        }
        if (r.method().equals("POST") && path.endsWith("/commit")) {
            return Answer.json(200, "{\"txid\":\"" + txidOf(path) + "\",\"outcome\":\"COMMITTED\"}");
        }
        if (r.method().equals("POST") && path.endsWith("/rollback")) {
            return Answer.json(200, "{\"txid\":\"" + txidOf(path) + "\",\"outcome\":\"ABORTED\"}");
        }
        if (r.method().equals("POST") && (path.equals("/api/v1/completions") || path.endsWith("/completed"))) {
            return new Answer(204, Map.of(), null);
        }
        return Answer.problem(404, "not-found", "no endpoint at " + path, null, Map.of());
    }

    public static String txidOf(String path) {
        String rest = path.substring("/api/v1/transactions/".length());
        int slash = rest.indexOf('/');
        return slash < 0 ? rest : rest.substring(0, slash);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
