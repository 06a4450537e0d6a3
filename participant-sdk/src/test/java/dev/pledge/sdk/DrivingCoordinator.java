package dev.pledge.sdk;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pledge.protocol.BeginRequest;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.CommitRequest;
import dev.pledge.protocol.ParticipantCalls;
import dev.pledge.protocol.TxState;
import dev.pledge.protocol.Vote;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small in-memory coordinator that drives participants the way the real one does (DESIGN.md §4,
 * API.md), for the SDK's propagation tests: branches registered ACTIVE with a callback are prepared
 * through {@code {callback}/prepare} at commit; a single ACTIVE branch commits in one phase through
 * {@code {callback}/commit}; after a COMMIT decision, prepared branches with a callback are committed through
 * it (in the background, as phase 2 is); an abort (rollback request, ABORT vote, deadline) rolls back every
 * branch with a callback. Branches reported without callback (the originator's early-prepared ones) are
 * finished by their SDK, as phase-2 ownership says. No log, no XA bridging: an UNKNOWN_BRANCH answer is
 * recorded, not bridged. Every request it receives and every callback it makes is recorded.
 */
public final class DrivingCoordinator implements AutoCloseable {
    public static final String CLUSTER = "drv";
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern TX_PATH = Pattern.compile("/api/v1/transactions/([^/]+)(/.*)?");

    /** One callback this coordinator made, and the participant's answer (an outcome, a vote, or "HTTP nnn"). */
    public record Callback(String operation, String url, String txid, String branchId, boolean onePhase, String answer) {
    }

    /** A global transaction as this coordinator keeps it. */
    public static final class Tx {
        public final String txid;
        public final Instant deadline;
        public volatile TxState state = TxState.ACTIVE;
        public final Map<String, BranchRegistration> branches = new LinkedHashMap<>();
        public final Map<String, BranchState> branchStates = new LinkedHashMap<>();
        public volatile String reason;

        Tx(String txid, Instant deadline) {
            this.txid = txid;
            this.deadline = deadline;
        }
    }

    private final HttpServer server;
    private final java.util.concurrent.ExecutorService handlers = Executors.newFixedThreadPool(8, r -> {
        Thread t = new Thread(r, "driving-coordinator-http");
        t.setDaemon(true);
        return t;
    });
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final ScheduledExecutorService background = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "driving-coordinator");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong seq = new AtomicLong();
    private final Map<String, Tx> transactions = new ConcurrentHashMap<>();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<BranchRegistration> registrations = new CopyOnWriteArrayList<>();
    private final List<Callback> callbacks = new CopyOnWriteArrayList<>();
    private final String callbackToken;
    private final Set<String> resources;
    private volatile boolean abortAtDeadline = true;

    /**
     * @param callbackToken the bearer token sent to participant callbacks
     * @param resources     what {@code GET /api/v1/resources} lists
     */
    public DrivingCoordinator(String callbackToken, Set<String> resources) throws IOException {
        this.callbackToken = callbackToken;
        this.resources = Set.copyOf(resources);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
        server.start();
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Off: the deadline passes without an abort, as when the coordinator is down (the SDK's own timer must act). */
    public void abortAtDeadline(boolean on) {
        abortAtDeadline = on;
    }

    public Tx transaction(String txid) {
        return transactions.get(txid);
    }

    /** "METHOD path" of every request received, in order. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    public List<BranchRegistration> registrations(String txid) {
        List<BranchRegistration> list = new ArrayList<>();
        Tx tx = transactions.get(txid);
        if (tx != null) {
            synchronized (tx) {
                list.addAll(tx.branches.values());
            }
        }
        return list;
    }

    /** Registrations received through {@code POST .../branches} (not inline ones). */
    public List<BranchRegistration> registrations() {
        return List.copyOf(registrations);
    }

    public List<Callback> callbacks() {
        return List.copyOf(callbacks);
    }

    public List<Callback> callbacks(String txid) {
        List<Callback> list = new ArrayList<>();
        for (Callback c : callbacks) {
            if (c.txid().equals(txid)) {
                list.add(c);
            }
        }
        return list;
    }

    // ------------------------------------------------------------------ HTTP

    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        byte[] body = exchange.getRequestBody().readAllBytes();
        requests.add(method + " " + path);
        int status;
        Object answer;
        try {
            Object[] result = route(method, path, body);
            status = (Integer) result[0];
            answer = result[1];
        } catch (RuntimeException e) {
            status = 500;
            answer = problem("internal-error", e.toString(), null);
        }
        byte[] bytes = answer == null ? new byte[0] : JSON.writeValueAsBytes(answer);
        exchange.getResponseHeaders().add("Content-Type", status >= 400 ? "application/problem+json" : "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    private Object[] route(String method, String path, byte[] body) {
        if ("GET".equals(method) && path.equals("/api/v1/resources")) {
            List<Map<String, String>> list = new ArrayList<>();
            for (String r : resources) {
                list.add(Map.of("name", r));
            }
            return new Object[]{200, list};
        }
        if ("POST".equals(method) && path.equals("/api/v1/transactions")) {
            BeginRequest req = body.length == 0 ? new BeginRequest(null, null) : JSON.readValue(body, BeginRequest.class);
            long timeoutMs = req.timeoutMs() == null ? 30_000 : req.timeoutMs();
            String txid = CLUSTER + ":1:" + seq.incrementAndGet();
            Tx tx = new Tx(txid, Instant.now().plusMillis(timeoutMs));
            transactions.put(txid, tx);
            background.schedule(() -> expire(tx), timeoutMs, TimeUnit.MILLISECONDS);
            Map<String, Object> answer = new LinkedHashMap<>();
            answer.put("txid", txid);
            answer.put("deadline", tx.deadline.toString());
            answer.put("xidFormatId", 0x504C4447);
            return new Object[]{201, answer};
        }
        if ("POST".equals(method) && (path.equals("/api/v1/completions") || path.endsWith("/completed"))) {
            return new Object[]{204, null};
        }
        Matcher m = TX_PATH.matcher(path);
        if (!m.matches()) {
            return new Object[]{404, problem("not-found", "no endpoint at " + path, null)};
        }
        String txid = m.group(1);
        String rest = m.group(2) == null ? "" : m.group(2);
        Tx tx = transactions.get(txid);
        if (tx == null) {
            return new Object[]{404, problem("transaction-not-found", "unknown txid " + txid, txid)};
        }
        if ("POST".equals(method) && rest.equals("/branches")) {
            return register(tx, JSON.readValue(body, BranchRegistration.class));
        }
        if ("POST".equals(method) && rest.equals("/commit")) {
            CommitRequest req = body.length == 0 ? new CommitRequest(List.of(), null) : JSON.readValue(body, CommitRequest.class);
            return commit(tx, req.branches() == null ? List.of() : req.branches());
        }
        if ("POST".equals(method) && rest.equals("/rollback")) {
            synchronized (tx) {
                if (tx.state == TxState.COMMITTING || tx.state == TxState.COMMITTED) {
                    return new Object[]{409, problem("transaction-committed", "already committed", txid)};
                }
                if (tx.state == TxState.ACTIVE || tx.state == TxState.PREPARING) {
                    abort(tx, "rolled back by the client");
                }
            }
            return new Object[]{200, outcome(txid, "ABORTED", tx.reason)};
        }
        return new Object[]{404, problem("not-found", "no endpoint at " + path, txid)};
    }

    private Object[] register(Tx tx, BranchRegistration reg) {
        registrations.add(reg);
        synchronized (tx) {
            if (tx.state != TxState.ACTIVE || !Instant.now().isBefore(tx.deadline)) {
                return new Object[]{409, problem("transaction-not-active", "transaction " + tx.txid + " is " + tx.state,
                        tx.txid)};
            }
            if (reg.state() == BranchState.ACTIVE && reg.callbackUrl() == null) {
                return new Object[]{400, problem("invalid-branch", "an ACTIVE branch needs a callbackUrl", tx.txid)};
            }
            BranchRegistration existing = tx.branches.get(reg.branchId());
            if (existing == null || existing.state() == BranchState.ACTIVE) {
                tx.branches.put(reg.branchId(), reg);
                tx.branchStates.put(reg.branchId(), reg.state());
            }
        }
        return new Object[]{201, null};
    }

    private Object[] commit(Tx tx, List<BranchRegistration> inline) {
        List<BranchRegistration> branches;
        synchronized (tx) {
            if (tx.state == TxState.COMMITTED || tx.state == TxState.COMMITTING) {
                return new Object[]{200, outcome(tx.txid, "COMMITTED", null)};
            }
            if (tx.state != TxState.ACTIVE) {
                return new Object[]{200, outcome(tx.txid, "ABORTED", tx.reason)};
            }
            if (!Instant.now().isBefore(tx.deadline)) {
                abort(tx, "the deadline passed before the commit request");
                return new Object[]{200, outcome(tx.txid, "ABORTED", tx.reason)};
            }
            for (BranchRegistration b : inline) {
                tx.branches.put(b.branchId(), b);
                tx.branchStates.put(b.branchId(), b.state());
            }
            tx.state = TxState.PREPARING;
            branches = new ArrayList<>(tx.branches.values());
        }
        if (branches.isEmpty()) {
            tx.state = TxState.COMMITTED;
            return new Object[]{200, outcome(tx.txid, "COMMITTED", null)};
        }
        if (branches.size() == 1 && branches.get(0).state() == BranchState.ACTIVE) {
            BranchRegistration only = branches.get(0);
            String answer = call("commit", tx.txid, only, true);
            boolean committed = ParticipantCalls.PhaseTwoResponse.COMMITTED.equals(answer);
            synchronized (tx) {
                tx.branchStates.put(only.branchId(), committed ? BranchState.COMMITTED : BranchState.ROLLED_BACK);
                tx.state = committed ? TxState.COMMITTED : TxState.ABORTED;
                tx.reason = committed ? null : "one-phase commit answered " + answer;
            }
            return new Object[]{200, outcome(tx.txid, committed ? "COMMITTED" : "ABORTED", tx.reason)};
        }
        for (BranchRegistration b : branches) {
            if (b.state() != BranchState.ACTIVE) {
                continue;
            }
            String vote = call("prepare", tx.txid, b, false);
            synchronized (tx) {
                if (Vote.COMMIT.name().equals(vote)) {
                    tx.branchStates.put(b.branchId(), BranchState.PREPARED);
                } else if (Vote.READ_ONLY.name().equals(vote)) {
                    tx.branchStates.put(b.branchId(), BranchState.READ_ONLY);
                } else {
                    abort(tx, "branch " + b.branchId() + " voted " + vote);
                    return new Object[]{200, outcome(tx.txid, "ABORTED", tx.reason)};
                }
            }
        }
        synchronized (tx) {
            tx.state = TxState.COMMITTING; // the commit point (a real coordinator forces its log here)
        }
        background.execute(() -> phaseTwo(tx));
        return new Object[]{200, outcome(tx.txid, "COMMITTED", null)};
    }

    private void phaseTwo(Tx tx) {
        List<BranchRegistration> toCommit = new ArrayList<>();
        synchronized (tx) {
            for (BranchRegistration b : tx.branches.values()) {
                if (tx.branchStates.get(b.branchId()) == BranchState.PREPARED && b.callbackUrl() != null) {
                    toCommit.add(b);
                }
            }
        }
        for (BranchRegistration b : toCommit) {
            String answer = null;
            for (int attempt = 0; attempt < 20 && !isOutcome(answer); attempt++) {
                answer = call("commit", tx.txid, b, false);
                if (!isOutcome(answer)) {
                    sleep(100);
                }
            }
            synchronized (tx) {
                tx.branchStates.put(b.branchId(), BranchState.COMMITTED);
            }
        }
        tx.state = TxState.COMMITTED;
    }

    /** Caller holds the tx monitor. */
    private void abort(Tx tx, String reason) {
        tx.state = TxState.ABORTING;
        tx.reason = reason;
        List<BranchRegistration> toRollBack = new ArrayList<>();
        for (BranchRegistration b : tx.branches.values()) {
            if (b.callbackUrl() != null) {
                toRollBack.add(b);
            }
        }
        background.execute(() -> {
            for (BranchRegistration b : toRollBack) {
                String answer = null;
                for (int attempt = 0; attempt < 20 && !isOutcome(answer); attempt++) {
                    answer = call("rollback", tx.txid, b, false);
                    if (!isOutcome(answer)) {
                        sleep(100);
                    }
                }
                synchronized (tx) {
                    tx.branchStates.put(b.branchId(), BranchState.ROLLED_BACK);
                }
            }
            tx.state = TxState.ABORTED;
        });
    }

    private void expire(Tx tx) {
        if (!abortAtDeadline) {
            return;
        }
        synchronized (tx) {
            if (tx.state == TxState.ACTIVE) {
                abort(tx, "its deadline " + tx.deadline + " passed before commit");
            }
        }
    }

    private static boolean isOutcome(String answer) {
        return answer != null && !answer.startsWith("HTTP") && !answer.startsWith("ERROR");
    }

    /** Calls a participant callback; answers its vote or outcome, "HTTP nnn" for another status, "ERROR ..." if unreachable. */
    private String call(String operation, String txid, BranchRegistration b, boolean onePhase) {
        Object body;
        if ("prepare".equals(operation)) {
            body = new ParticipantCalls.PrepareRequest(txid, b.branchId());
        } else if ("commit".equals(operation)) {
            body = new ParticipantCalls.PhaseTwoRequest(txid, b.branchId(), onePhase);
        } else {
            body = new ParticipantCalls.RollbackRequest(txid, b.branchId());
        }
        String answer;
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(b.callbackUrl() + "/" + operation))
                    .timeout(Duration.ofSeconds(10))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
            if (callbackToken != null) {
                request.header("Authorization", "Bearer " + callbackToken);
            }
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (response.statusCode() != 200) {
                answer = "HTTP " + response.statusCode();
            } else {
                JsonNode json = JSON.readTree(response.body());
                answer = json.has("vote") ? json.get("vote").asString() : json.get("outcome").asString();
            }
        } catch (IOException e) {
            answer = "ERROR " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            answer = "ERROR interrupted";
        }
        callbacks.add(new Callback(operation, b.callbackUrl(), txid, b.branchId(), onePhase, answer));
        return answer;
    }

    private static Map<String, Object> outcome(String txid, String outcome, String reason) {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("txid", txid);
        answer.put("outcome", outcome);
        if (reason != null) {
            answer.put("reason", reason);
        }
        return answer;
    }

    private static Map<String, Object> problem(String type, String detail, String txid) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("type", "https://pledge.dev/problems/" + type);
        p.put("title", type);
        p.put("detail", detail);
        if (txid != null) {
            p.put("txid", txid);
        }
        return p;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        server.stop(0);
        handlers.shutdownNow();
        background.shutdownNow();
    }
}
