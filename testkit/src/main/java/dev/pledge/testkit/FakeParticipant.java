package dev.pledge.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A participant serving the callback endpoints of API.md over real HTTP, keeping its branches'
 * states in memory (it outlives coordinator processes in crash tests). Behaves like a resource
 * manager: a branch is prepared only after a COMMIT vote, commit and rollback are idempotent, and
 * a commit of a branch it never prepared (outside one-phase) answers UNKNOWN_BRANCH.
 */
public final class FakeParticipant implements AutoCloseable {
    public enum Branch { ACTIVE, PREPARED, COMMITTED, ROLLED_BACK }

    /**
     * One callback as received: {@code caller} is the request's {@code User-Agent} (the coordinator names its
     * node there), {@code sentAt} its {@code Pledge-Sent-At} (when the coordinator made the call; null without
     * one), {@code atNanos} the {@link System#nanoTime()} of its arrival.
     */
    public record Call(String kind, String txid, String branchId, boolean onePhase, String caller, Instant sentAt,
                       long atNanos) {
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    static {
        // The JDK's HTTP server leaves Nagle's algorithm on: every answer then waits for the caller's
        // delayed ACK (~40 ms on Linux), and the stand-in, not the coordinator, sets the pace of a test or
        // benchmark. Real participants (the SDK on Tomcat) answer with TCP_NODELAY. Read once per JVM, so
        // set before the first server starts.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final HttpServer server;
    private final String name;
    private final Map<String, Branch> branches = new ConcurrentHashMap<>();
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final Map<String, String> votes = new ConcurrentHashMap<>();
    private final Set<String> readOnly = ConcurrentHashMap.newKeySet();
    private final AtomicInteger failPhaseTwo = new AtomicInteger();
    private volatile boolean down;
    private volatile java.util.concurrent.CountDownLatch voteGate;
    private volatile String expectedToken;

    public FakeParticipant(String name) throws IOException {
        this.name = name;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/p", this::handle);
        server.start();
    }

    public String callbackUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/p";
    }

    public String name() {
        return name;
    }

    /** Makes this branch vote ABORT at prepare. */
    public void voteAbort(String branchId) {
        votes.put(branchId, "ABORT");
    }

    public void voteReadOnly(String branchId) {
        readOnly.add(branchId);
    }

    /** The next n phase-2 calls answer HTTP 503, as a participant that is briefly unreachable. */
    public void failNextPhaseTwoCalls(int n) {
        failPhaseTwo.set(n);
    }

    /**
     * Prepare requests wait (up to 30 s) until {@code gate} opens before they vote: lets a test act
     * while the coordinator is collecting votes. {@code null} answers at once again.
     */
    public void holdVotesUntil(java.util.concurrent.CountDownLatch gate) {
        this.voteGate = gate;
    }

    public void setDown(boolean down) {
        this.down = down;
    }

    public void requireToken(String token) {
        this.expectedToken = token;
    }

    /** A branch in progress, as the SDK would hold it with a parked connection. */
    public void begin(String txid, String branchId) {
        branches.put(key(txid, branchId), Branch.ACTIVE);
    }

    public Branch state(String txid, String branchId) {
        return branches.get(key(txid, branchId));
    }

    public List<Call> calls() {
        return List.copyOf(calls);
    }

    public List<Call> calls(String txid) {
        return calls.stream().filter(c -> c.txid().equals(txid)).toList();
    }

    /** Branches this participant holds as COMMITTED. */
    public long committedCount() {
        return branches.values().stream().filter(s -> s == Branch.COMMITTED).count();
    }

    public boolean committed(String txid) {
        return branches.entrySet().stream().anyMatch(e -> e.getKey().startsWith(txid + "/") && e.getValue() == Branch.COMMITTED);
    }

    private static String key(String txid, String branchId) {
        return txid + "/" + branchId;
    }

    private static Call call(HttpExchange ex, String kind, String txid, String branchId, boolean onePhase) {
        String sentAt = ex.getRequestHeaders().getFirst("Pledge-Sent-At");
        Instant sent;
        try {
            sent = sentAt == null ? null : Instant.parse(sentAt);
        } catch (DateTimeParseException e) {
            sent = null;
        }
        return new Call(kind, txid, branchId, onePhase, ex.getRequestHeaders().getFirst("User-Agent"), sent,
                System.nanoTime());
    }

    private void awaitVoteGate() throws IOException {
        java.util.concurrent.CountDownLatch gate = voteGate;
        try {
            if (gate != null && !gate.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IOException("the test never opened the vote gate of participant " + name);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while holding a vote of participant " + name, e);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (down) {
                ex.sendResponseHeaders(503, -1);
                return;
            }
            if (expectedToken != null && !("Bearer " + expectedToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                ex.sendResponseHeaders(401, -1);
                return;
            }
            String path = ex.getRequestURI().getPath();
            JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
            String txid = body.get("txid").asString();
            String branchId = body.get("branchId").asString();
            String key = key(txid, branchId);
            String answer;
            if (path.endsWith("/prepare")) {
                calls.add(call(ex, "prepare", txid, branchId, false));
                awaitVoteGate();
                String vote = votes.getOrDefault(branchId, readOnly.contains(branchId) ? "READ_ONLY" : "COMMIT");
                Branch now = branches.get(key);
                if (now != null && now != Branch.ACTIVE) {
                    vote = now == Branch.PREPARED || now == Branch.COMMITTED ? "COMMIT" : "ABORT";
                } else if (vote.equals("COMMIT")) {
                    branches.put(key, Branch.PREPARED);
                } else if (vote.equals("ABORT")) {
                    branches.put(key, Branch.ROLLED_BACK);
                } else {
                    branches.remove(key);
                }
                answer = "{\"vote\":\"" + vote + "\"}";
            } else if (path.endsWith("/commit")) {
                boolean onePhase = body.get("onePhase").asBoolean();
                calls.add(call(ex, "commit", txid, branchId, onePhase));
                if (failPhaseTwo.getAndDecrement() > 0) {
                    ex.sendResponseHeaders(503, -1);
                    return;
                }
                Branch now = branches.get(key);
                if (now == Branch.PREPARED || now == Branch.COMMITTED || (onePhase && now != Branch.ROLLED_BACK)) {
                    branches.put(key, Branch.COMMITTED);
                    answer = "{\"outcome\":\"COMMITTED\"}";
                } else if (now == Branch.ROLLED_BACK) {
                    answer = "{\"outcome\":\"ROLLED_BACK\"}";
                } else {
                    answer = "{\"outcome\":\"UNKNOWN_BRANCH\"}";
                }
            } else if (path.endsWith("/rollback")) {
                calls.add(call(ex, "rollback", txid, branchId, false));
                if (failPhaseTwo.getAndDecrement() > 0) {
                    ex.sendResponseHeaders(503, -1);
                    return;
                }
                Branch now = branches.get(key);
                if (now == Branch.COMMITTED) {
                    answer = "{\"outcome\":\"COMMITTED\"}";
                } else if (now == null) {
                    answer = "{\"outcome\":\"UNKNOWN_BRANCH\"}";
                } else {
                    branches.put(key, Branch.ROLLED_BACK);
                    answer = "{\"outcome\":\"ROLLED_BACK\"}";
                }
            } else {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            byte[] bytes = answer.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, bytes.length);
            ex.getResponseBody().write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
