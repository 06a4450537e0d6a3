package dev.pledge.sdk.client;

import dev.pledge.protocol.BeginRequest;
import dev.pledge.protocol.BeginResponse;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.CommitRequest;
import dev.pledge.protocol.CompletionReport;
import dev.pledge.protocol.OutcomeResponse;
import dev.pledge.protocol.ProblemTypes;
import dev.pledge.protocol.TransactionView;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The coordinator's REST API (API.md) over the JDK {@link HttpClient} (HTTP/1.1, keep-alive), with
 * bearer-token authentication and the {@code protocol} records as JSON.
 *
 * <p>Every Pledge transaction call is idempotent, so every call is retried on connection errors,
 * timeouts, 5xx and 429, waiting the coordinator's {@code Retry-After} or a capped exponential backoff
 * with jitter, within a bounded total time ({@link Builder#maxRetryTime}). A follower's
 * {@code 307} is followed by hand: the leader's base URL (the {@code Pledge-Leader} header, else the
 * {@code Location}) is cached and used for every later call until it stops answering. Refusals
 * become typed {@link PledgeException}s.
 *
 * <p>Thread-safe; one instance per application.
 */
public final class CoordinatorClient {
    private static final Logger log = LoggerFactory.getLogger(CoordinatorClient.class);
    private static final String API = "/api/v1";
    private static final int MAX_REDIRECTS = 5;
    private static final String PROBLEM_JSON = "application/problem+json";

    private final List<URI> nodes;
    private final String authorization;
    private final Duration requestTimeout;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final Duration maxRetryTime;
    private final HttpClient http;
    private final JsonMapper json;
    private volatile URI leader;
    private volatile int nodeIndex;

    private CoordinatorClient(Builder b) {
        if (b.urls.isEmpty()) {
            throw new IllegalArgumentException("pledge.coordinator.url is missing: give the coordinator's base URL,"
                    + " e.g. http://localhost:8080 (several, comma-separated, for a cluster)");
        }
        this.nodes = List.copyOf(b.urls);
        this.authorization = b.token == null || b.token.isBlank() ? null : "Bearer " + b.token.trim();
        this.requestTimeout = positive("request-timeout", b.requestTimeout);
        this.initialBackoff = positive("initial-backoff", b.initialBackoff);
        this.maxBackoff = positive("max-backoff", b.maxBackoff);
        this.maxRetryTime = nonNegative("max-retry-time", b.maxRetryTime);
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(positive("connect-timeout", b.connectTimeout))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        this.json = JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();
        this.leader = nodes.get(0);
    }

    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ the API

    /** {@code POST /api/v1/transactions}: a new txid and its deadline. Null timeout: the coordinator's default. */
    public BeginResponse begin(Duration timeout, String label) {
        BeginRequest body = new BeginRequest(timeout == null ? null : timeout.toMillis(), label);
        return call("POST", API + "/transactions", body, BeginResponse.class, null);
    }

    /** {@code POST /api/v1/transactions/{txid}/branches}; idempotent on (txid, branchId). */
    public void registerBranch(String txid, BranchRegistration registration) {
        call("POST", txPath(txid) + "/branches", registration, Void.class, txid);
    }

    /**
     * {@code POST /api/v1/transactions/{txid}/commit} with the branches reported inline (e.g. early
     * prepared ones). Returns the decision; with {@code waitForCompletion} only after phase 2.
     *
     * @throws OutcomeUnknownException when the coordinator kept answering "outcome unknown" for the
     *                                 whole retry budget: the transaction is undecided, ask again
     */
    public OutcomeResponse commit(String txid, List<BranchRegistration> inlineBranches, boolean waitForCompletion) {
        CommitRequest body = new CommitRequest(inlineBranches == null ? List.of() : List.copyOf(inlineBranches),
                waitForCompletion ? "completion" : "decision");
        return call("POST", txPath(txid) + "/commit", body, OutcomeResponse.class, txid);
    }

    /** {@code POST /api/v1/transactions/{txid}/rollback}; {@link TransactionCommittedException} if it is committed. */
    public OutcomeResponse rollback(String txid) {
        return call("POST", txPath(txid) + "/rollback", null, OutcomeResponse.class, txid);
    }

    /** {@code GET /api/v1/transactions/{txid}}. */
    public TransactionView get(String txid) {
        return call("GET", txPath(txid), null, TransactionView.class, txid);
    }

    /** {@code POST .../branches/{branchId}/completed}: phase 2 of this branch is done (COMMITTED or ROLLED_BACK). */
    public void reportCompleted(String txid, String branchId, BranchState outcome) {
        call("POST", txPath(txid) + "/branches/" + branchId + "/completed", new CompletionReport(outcome), Void.class,
                txid);
    }

    /** One entry of {@code POST /api/v1/completions}. */
    public record Completion(String txid, String branchId, BranchState outcome) {
    }

    /** At most this many completions go in one batched request. */
    public static final int MAX_COMPLETIONS_PER_REQUEST = 500;

    /**
     * Batched completion reports ({@code POST /api/v1/completions}), split into requests of at most
     * {@link #MAX_COMPLETIONS_PER_REQUEST}; falls back to one request per branch on a coordinator
     * without the batched endpoint (404).
     */
    public void reportCompletions(List<Completion> completions) {
        for (int from = 0; from < completions.size(); from += MAX_COMPLETIONS_PER_REQUEST) {
            List<Completion> batch = completions.subList(from,
                    Math.min(completions.size(), from + MAX_COMPLETIONS_PER_REQUEST));
            try {
                call("POST", API + "/completions", batch, Void.class, null);
            } catch (PledgeException e) {
                if (e.status() != 404) {
                    throw e;
                }
                for (Completion c : batch) {
                    reportCompleted(c.txid(), c.branchId(), c.outcome());
                }
            }
        }
    }

    /**
     * {@code GET /api/v1/resources}: the names of the resources the coordinator can reach (XA
     * bridging). Empty when the coordinator has no such endpoint (404): the caller cannot check.
     */
    public Optional<Set<String>> resources() {
        JsonNode body;
        try {
            body = call("GET", API + "/resources", null, JsonNode.class, null);
        } catch (PledgeException e) {
            if (e.status() == 404) {
                return Optional.empty();
            }
            throw e;
        }
        JsonNode list = body;
        if (body != null && body.isObject()) {
            list = body.has("resources") ? body.get("resources") : body.get("items");
        }
        Set<String> names = new LinkedHashSet<>();
        if (list != null && list.isArray()) {
            for (JsonNode item : list) {
                if (item.isString()) {
                    names.add(item.asString());
                } else if (item.isObject() && item.hasNonNull("name")) {
                    names.add(item.get("name").asString());
                }
            }
        }
        return Optional.of(names);
    }

    /** The base URL calls go to now: the cached leader, or a configured node. */
    public URI currentNode() {
        return leader;
    }

    /** The configured coordinator base URLs. */
    public List<URI> nodes() {
        return nodes;
    }

    // ------------------------------------------------------------------ transport

    private static String txPath(String txid) {
        Objects.requireNonNull(txid, "txid");
        return API + "/transactions/" + txid;
    }

    private <T> T call(String method, String path, Object body, Class<T> type, String txid) {
        byte[] payload = body == null ? null : json.writeValueAsBytes(body);
        long started = System.nanoTime();
        int attempt = 0;
        int redirects = 0;
        while (true) {
            URI base = leader;
            HttpResponse<byte[]> response;
            PledgeException failure;
            Duration wait;
            try {
                response = http.send(request(base, method, path, payload), HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                failure = new CoordinatorUnavailableException("no answer from the coordinator at " + base + " to "
                        + method + " " + path + ": " + e, e, null, 0, null, txid, null);
                moveToNextNode(base);
                wait = backoff(attempt++);
                if (!sleepWithinBudget(started, wait)) {
                    throw exhausted(failure, started);
                }
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CoordinatorUnavailableException("interrupted while calling the coordinator (" + method + " "
                        + path + ")", e, null, 0, null, txid, null);
            }
            int status = response.statusCode();
            if (status == 307 || status == 308) {
                URI next = leaderFrom(response, base);
                if (next == null || ++redirects > MAX_REDIRECTS) {
                    throw new CoordinatorUnavailableException("the coordinator at " + base + " redirected " + method
                            + " " + path + " without a usable leader (" + redirects + " redirects; Pledge-Leader="
                            + response.headers().firstValue("Pledge-Leader").orElse("absent") + ")",
                            null, null, status, null, txid, null);
                }
                if (!next.equals(leader)) {
                    log.info("Coordinator leader is {} (redirected by {})", next, base);
                }
                leader = next;
                continue;
            }
            if (status >= 200 && status < 300) {
                return parse(response, type, method, path);
            }
            failure = problem(response, method, path, txid);
            if (!retryable(status)) {
                throw failure;
            }
            wait = max(retryAfter(response), backoff(attempt++));
            if (!sleepWithinBudget(started, wait)) {
                throw exhausted(failure, started);
            }
        }
    }

    private HttpRequest request(URI base, String method, String path, byte[] payload) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(base.toString() + path))
                .timeout(requestTimeout)
                .header("Accept", "application/json, " + PROBLEM_JSON);
        if (authorization != null) {
            r.header("Authorization", authorization);
        }
        if (payload != null) {
            r.header("Content-Type", "application/json");
            r.method(method, HttpRequest.BodyPublishers.ofByteArray(payload));
        } else {
            r.method(method, "POST".equals(method) ? HttpRequest.BodyPublishers.ofByteArray(new byte[0])
                    : HttpRequest.BodyPublishers.noBody());
        }
        return r.build();
    }

    private <T> T parse(HttpResponse<byte[]> response, Class<T> type, String method, String path) {
        if (type == Void.class || response.body() == null || response.body().length == 0) {
            return null;
        }
        try {
            return json.readValue(response.body(), type);
        } catch (JacksonException e) {
            throw new PledgeException("the coordinator's answer to " + method + " " + path + " is not the JSON API.md"
                    + " describes (" + e.getOriginalMessage() + "): is " + leader + " a Pledge coordinator?", e, null,
                    response.statusCode(), null, null, null);
        }
    }

    private static boolean retryable(int status) {
        return status == 408 || status == 429 || status >= 500;
    }

    /** Turns a non-2xx answer into the typed exception its problem type names. */
    private PledgeException problem(HttpResponse<byte[]> response, String method, String path, String txid) {
        int status = response.statusCode();
        URI type = null;
        String detail = null;
        String state = null;
        String problemTxid = txid;
        try {
            if (response.body() != null && response.body().length > 0) {
                JsonNode p = json.readTree(response.body());
                if (p != null && p.isObject()) {
                    type = p.hasNonNull("type") ? URI.create(p.get("type").asString()) : null;
                    detail = p.hasNonNull("detail") ? p.get("detail").asString() : null;
                    state = p.hasNonNull("state") ? p.get("state").asString() : null;
                    problemTxid = p.hasNonNull("txid") ? p.get("txid").asString() : txid;
                }
            }
        } catch (JacksonException | IllegalArgumentException e) {
            detail = null; // not problem+json (a proxy's error page, say): the status alone must do
        }
        String message = method + " " + path + " answered " + status
                + (type == null ? "" : " " + type.toString().replace(ProblemTypes.BASE, ""))
                + (detail == null ? "" : ": " + detail);
        if (ProblemTypes.OUTCOME_UNKNOWN.equals(type)) {
            return new OutcomeUnknownException(message, null, type, status, detail, problemTxid, state);
        }
        if (ProblemTypes.TRANSACTION_NOT_FOUND.equals(type)) {
            return new TransactionNotFoundException(message, null, type, status, detail, problemTxid, state);
        }
        if (ProblemTypes.TRANSACTION_NOT_ACTIVE.equals(type)) {
            return new TransactionNotActiveException(message, null, type, status, detail, problemTxid, state);
        }
        if (ProblemTypes.TRANSACTION_COMMITTED.equals(type)) {
            return new TransactionCommittedException(message, null, type, status, detail, problemTxid, state);
        }
        if (ProblemTypes.UNKNOWN_RESOURCE.equals(type)) {
            return new UnknownResourceException(message, null, type, status, detail, problemTxid, state);
        }
        if (status == 401 || status == 403) {
            return new CoordinatorAuthenticationException(message + (authorization == null
                    ? " (no token configured: set pledge.coordinator.token)" : ""), null, type, status, detail,
                    problemTxid, state);
        }
        if (status == 503 || status == 502 || status == 504) {
            return new CoordinatorUnavailableException(message, null, type, status, detail, problemTxid, state);
        }
        if (status >= 400 && status < 500 && status != 404 && status != 408 && status != 409 && status != 429) {
            return new InvalidRequestException(message, null, type, status, detail, problemTxid, state);
        }
        return new PledgeException(message, null, type, status, detail, problemTxid, state);
    }

    private PledgeException exhausted(PledgeException last, long started) {
        long ms = Duration.ofNanos(System.nanoTime() - started).toMillis();
        String message = last.getMessage() + " (gave up after " + ms + " ms of retries; nodes " + nodes + ")";
        if (last instanceof OutcomeUnknownException) {
            return new OutcomeUnknownException(message, last.getCause(), last.type(), last.status(), last.detail(),
                    last.txid(), last.state());
        }
        if (last instanceof CoordinatorUnavailableException || last.status() == 0 || last.status() >= 500) {
            return new CoordinatorUnavailableException(message, last.getCause(), last.type(), last.status(),
                    last.detail(), last.txid(), last.state());
        }
        return new PledgeException(message, last.getCause(), last.type(), last.status(), last.detail(), last.txid(),
                last.state());
    }

    /** The leader's base URL from a 307: {@code Pledge-Leader}, else the part of {@code Location} before /api/. */
    private static URI leaderFrom(HttpResponse<?> response, URI current) {
        Optional<String> header = response.headers().firstValue("Pledge-Leader");
        try {
            if (header.isPresent() && !header.get().isBlank()) {
                return normalize(URI.create(header.get().trim()));
            }
            Optional<String> location = response.headers().firstValue("Location");
            if (location.isPresent()) {
                URI target = current.resolve(location.get().trim());
                String text = target.toString();
                int api = text.indexOf(API + "/");
                if (api < 0) {
                    api = text.indexOf(API);
                }
                return normalize(URI.create(api < 0 ? text : text.substring(0, api)));
            }
        } catch (IllegalArgumentException e) {
            log.warn("Ignoring an unusable leader address in a redirect from {}: {}", current, e.getMessage());
        }
        return null;
    }

    /** After a connection failure: forget a cached leader and try the next configured node. */
    private void moveToNextNode(URI failed) {
        if (!failed.equals(leader)) {
            return; // another thread already moved on
        }
        int next = (nodeIndex + 1) % nodes.size();
        nodeIndex = next;
        leader = nodes.get(next);
    }

    private Duration backoff(int attempt) {
        long cap = maxBackoff.toMillis();
        long base = Math.min(cap, initialBackoff.toMillis() << Math.min(attempt, 20));
        long half = Math.max(1, base / 2);
        return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(half + 1));
    }

    private Duration retryAfter(HttpResponse<?> response) {
        Optional<String> value = response.headers().firstValue("Retry-After");
        if (value.isEmpty()) {
            return Duration.ZERO;
        }
        try {
            long seconds = Long.parseLong(value.get().trim());
            Duration d = Duration.ofSeconds(Math.max(0, seconds));
            return d.compareTo(maxRetryTime) > 0 ? maxRetryTime : d;
        } catch (NumberFormatException e) {
            return Duration.ZERO; // an HTTP-date: rare enough to fall back to our own backoff
        }
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private boolean sleepWithinBudget(long started, Duration wait) {
        long elapsed = System.nanoTime() - started;
        if (elapsed + wait.toNanos() > maxRetryTime.toNanos()) {
            return false;
        }
        try {
            Thread.sleep(wait.toMillis());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Duration positive(String name, Duration d) {
        if (d == null || d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("pledge.coordinator." + name + "=" + d + " is invalid: use a positive duration");
        }
        return d;
    }

    private static Duration nonNegative(String name, Duration d) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException("pledge.coordinator." + name + "=" + d + " is invalid: use 0 or more");
        }
        return d;
    }

    static URI normalize(URI uri) {
        String text = uri.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        URI result = URI.create(text);
        if (result.getScheme() == null || result.getHost() == null
                || !("http".equals(result.getScheme()) || "https".equals(result.getScheme()))) {
            throw new IllegalArgumentException("'" + uri + "' is not an absolute http(s) URL");
        }
        return result;
    }

    /** Settings of a {@link CoordinatorClient}; each has a default fit for production. */
    public static final class Builder {
        private final List<URI> urls = new ArrayList<>();
        private String token;
        private Duration connectTimeout = Duration.ofSeconds(2);
        private Duration requestTimeout = Duration.ofSeconds(30);
        private Duration initialBackoff = Duration.ofMillis(50);
        private Duration maxBackoff = Duration.ofSeconds(2);
        private Duration maxRetryTime = Duration.ofSeconds(15);

        private Builder() {
        }

        /** One coordinator base URL, or several separated by commas (a cluster); e.g. {@code http://localhost:8080}. */
        public Builder url(String urlOrList) {
            for (String part : urlOrList.split(",")) {
                if (!part.isBlank()) {
                    try {
                        urls.add(normalize(URI.create(part.trim())));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("pledge.coordinator.url: " + e.getMessage(), e);
                    }
                }
            }
            return this;
        }

        /** The bearer token (a PARTICIPANT token of the coordinator). */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        public Builder connectTimeout(Duration d) {
            this.connectTimeout = d;
            return this;
        }

        /** Bound on one HTTP exchange; a commit with {@code wait=completion} needs room for phase 2. */
        public Builder requestTimeout(Duration d) {
            this.requestTimeout = d;
            return this;
        }

        public Builder initialBackoff(Duration d) {
            this.initialBackoff = d;
            return this;
        }

        public Builder maxBackoff(Duration d) {
            this.maxBackoff = d;
            return this;
        }

        /** Total time one call may spend retrying before it gives up (0: no retries). */
        public Builder maxRetryTime(Duration d) {
            this.maxRetryTime = d;
            return this;
        }

        public CoordinatorClient build() {
            return new CoordinatorClient(this);
        }
    }
}
