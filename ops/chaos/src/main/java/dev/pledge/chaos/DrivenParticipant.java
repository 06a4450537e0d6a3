package dev.pledge.chaos;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.ParticipantCalls;
import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.xa.PledgeXid;
import dev.pledge.xa.XaErrors;
import dev.pledge.xa.XidCodec;
import org.postgresql.xa.PGXADataSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import javax.sql.XAConnection;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A coordinator-driven participant (DESIGN.md §4, "classic 2PC") inside the workload: it does its work on one
 * database in an XA branch that it does <em>not</em> prepare itself, parks the connection, registers the branch
 * ACTIVE with a callback URL, and lets the coordinator call {@code /prepare}, {@code /commit} and
 * {@code /rollback} (API.md, participant callbacks). The SDK prepares its own branches early and reports them
 * inline, so without this participant the coordinator's PREPARE round (failpoint
 * {@code coordinator.after-prepare}) and its callback phase 2 would never run under the campaign.
 *
 * <p>It keeps no log, like every participant (S7): a branch it has not prepared may be thrown away at any time
 * (the coordinator's PREPARE then gets an ABORT vote); a prepared one is never rolled back here on its own
 * initiative. When this process dies the coordinator finishes prepared branches through XA bridging.
 */
final class DrivenParticipant implements AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** An unprepared branch the coordinator has not asked about for this long is discarded; a prepared one is let go. */
    private static final long PARK_LIMIT_MS = 20_000;

    /** Work done on the branch's connection. */
    interface Work {
        void run(Connection c) throws SQLException;
    }

    /** One parked branch; guarded by its own monitor. */
    private static final class Parked {
        final String key;
        final XAConnection connection;
        final XAResource xa;
        final PledgeXid xid;
        final long parkedAt = System.nanoTime();
        boolean prepared;
        boolean finished;

        Parked(String key, XAConnection connection, XAResource xa, PledgeXid xid) {
            this.key = key;
            this.connection = connection;
            this.xa = xa;
            this.xid = xid;
        }
    }

    private final String resource;
    private final String instance;
    private final String token;
    private final PGXADataSource dataSource;
    private final CoordinatorClient client;
    private final HttpServer server;
    private final ExecutorService callbackThreads = Executors.newFixedThreadPool(4);
    private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor();
    private final Map<String, Parked> parked = new ConcurrentHashMap<>();
    private final AtomicLong nextBranch = new AtomicLong();
    private final String callbackUrl;

    DrivenParticipant(String resource, String instance, String jdbcUrl, String user, String token,
                      CoordinatorClient client) throws IOException {
        this.resource = resource;
        this.instance = instance;
        this.token = token;
        this.client = client;
        this.dataSource = new PGXADataSource();
        this.dataSource.setUrl(jdbcUrl);
        this.dataSource.setUser(user);
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 32);
        this.server.createContext("/pledge/participant", this::handle);
        this.server.setExecutor(callbackThreads);
        this.server.start();
        this.callbackUrl = "http://127.0.0.1:" + server.getAddress().getPort() + "/pledge/participant";
        reaper.scheduleWithFixedDelay(this::reap, 2, 2, TimeUnit.SECONDS);
    }

    /**
     * Runs {@code work} in a new branch of {@code txid} on this participant's database, ends the branch, parks
     * its connection and registers it ACTIVE with the coordinator. On failure nothing stays parked.
     */
    void work(String txid, Work work) throws Exception {
        String branchId = resource + ":" + instance + ":" + nextBranch.incrementAndGet();
        PledgeXid xid = XidCodec.encode(txid, branchId);
        XAConnection connection = dataSource.getXAConnection();
        Parked p = null;
        try {
            XAResource xa = connection.getXAResource();
            xa.start(xid, XAResource.TMNOFLAGS);
            try (Connection c = connection.getConnection()) {
                work.run(c);
            }
            xa.end(xid, XAResource.TMSUCCESS);
            p = new Parked(key(txid, branchId), connection, xa, xid);
            parked.put(p.key, p);
            client.registerBranch(txid, new BranchRegistration(branchId, resource, BranchState.ACTIVE, callbackUrl));
        } catch (Exception | Error e) {
            if (p != null) {
                discardUnprepared(p);
            } else {
                closeQuietly(connection);
            }
            throw e;
        }
    }

    /**
     * After the originator's commit returned or failed: a branch of {@code txid} the coordinator never
     * prepared is thrown away now (it can only ever be voted down). Prepared ones wait for phase 2.
     */
    void afterCompletion(String txid) {
        for (Parked p : parked.values()) {
            if (p.xid.txid().equals(txid)) {
                discardUnprepared(p);
            }
        }
    }

    private void discardUnprepared(Parked p) {
        synchronized (p) {
            if (p.prepared || p.finished) {
                return;
            }
            p.finished = true;
            try {
                p.xa.rollback(p.xid);
            } catch (XAException | RuntimeException e) {
                // closing the connection rolls the unprepared work back anyway
            }
            release(p);
        }
    }

    private void reap() {
        long now = System.nanoTime();
        for (Parked p : parked.values()) {
            if (now - p.parkedAt < TimeUnit.MILLISECONDS.toNanos(PARK_LIMIT_MS)) {
                continue;
            }
            synchronized (p) {
                if (p.finished) {
                    continue;
                }
                if (!p.prepared) {
                    discardUnprepared(p);
                } else {
                    // a prepared branch survives its connection: the coordinator finishes it by XA bridging
                    p.finished = true;
                    release(p);
                }
            }
        }
    }

    private void release(Parked p) {
        parked.remove(p.key, p);
        closeQuietly(p.connection);
    }

    // ------------------------------------------------------------------ callbacks

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            try {
                answer(exchange);
            } catch (RuntimeException e) {
                send(exchange, 500, "{}");
            }
        }
    }

    private void answer(HttpExchange exchange) throws IOException {
        if (!"POST".equals(exchange.getRequestMethod())) {
            send(exchange, 405, "{}");
            return;
        }
        if (!("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            send(exchange, 401, "{}");
            return;
        }
        JsonNode body;
        try (InputStream in = exchange.getRequestBody()) {
            body = JSON.readTree(in);
        }
        String path = exchange.getRequestURI().getPath();
        String txid = body.path("txid").asString();
        String branchId = body.path("branchId").asString();
        Parked p = parked.get(key(txid, branchId));
        if (path.endsWith(ParticipantCalls.PREPARE)) {
            send(exchange, 200, prepare(p));
        } else if (path.endsWith(ParticipantCalls.COMMIT)) {
            String answer = commit(p, body.path("onePhase").asBoolean(false));
            send(exchange, answer == null ? 500 : 200, answer == null ? "{}" : answer);
        } else if (path.endsWith(ParticipantCalls.ROLLBACK)) {
            String answer = rollback(p);
            send(exchange, answer == null ? 500 : 200, answer == null ? "{}" : answer);
        } else {
            send(exchange, 404, "{}");
        }
    }

    private String prepare(Parked p) {
        if (p == null) {
            return vote("ABORT", "unknown branch: its work was discarded");
        }
        synchronized (p) {
            if (p.prepared) {
                return vote("COMMIT", null);
            }
            if (p.finished) {
                return vote("ABORT", "the branch was discarded");
            }
            try {
                int r = p.xa.prepare(p.xid);
                p.prepared = true;
                if (r == XAResource.XA_RDONLY) {
                    p.finished = true;
                    return vote("READ_ONLY", null);
                }
                return vote("COMMIT", null);
            } catch (XAException | RuntimeException e) {
                p.finished = true;
                release(p);
                return vote("ABORT", "prepare failed: " + describe(e));
            }
        }
    }

    /** Null: an error the coordinator should retry (or bridge). */
    private String commit(Parked p, boolean onePhase) {
        if (p == null) {
            return outcome(ParticipantCalls.PhaseTwoResponse.UNKNOWN_BRANCH);
        }
        synchronized (p) {
            if (p.finished && !p.prepared) {
                return outcome(ParticipantCalls.PhaseTwoResponse.UNKNOWN_BRANCH);
            }
            if (!onePhase && !p.prepared) {
                return null; // a two-phase commit of a branch nobody prepared: refuse
            }
            try {
                p.xa.commit(p.xid, onePhase);
            } catch (XAException e) {
                if (e.errorCode == XAException.XAER_NOTA) {
                    // finished elsewhere (bridged): say we do not know it and let the coordinator look (S6)
                    p.finished = true;
                    release(p);
                    return outcome(ParticipantCalls.PhaseTwoResponse.UNKNOWN_BRANCH);
                }
                return null;
            } catch (RuntimeException e) {
                return null;
            }
            p.finished = true;
            release(p);
            return outcome(ParticipantCalls.PhaseTwoResponse.COMMITTED);
        }
    }

    private String rollback(Parked p) {
        if (p == null) {
            return outcome(ParticipantCalls.PhaseTwoResponse.UNKNOWN_BRANCH);
        }
        synchronized (p) {
            if (p.finished && !p.prepared) {
                return outcome(ParticipantCalls.PhaseTwoResponse.ROLLED_BACK);
            }
            try {
                p.xa.rollback(p.xid);
            } catch (XAException e) {
                if (e.errorCode != XAException.XAER_NOTA) {
                    return null;
                }
            } catch (RuntimeException e) {
                return null;
            }
            p.finished = true;
            release(p);
            return outcome(ParticipantCalls.PhaseTwoResponse.ROLLED_BACK);
        }
    }

    private static String vote(String vote, String reason) {
        return reason == null ? "{\"vote\":\"" + vote + "\"}"
                : JSON.writeValueAsString(Map.of("vote", vote, "reason", reason));
    }

    private static String outcome(String outcome) {
        return "{\"outcome\":\"" + outcome + "\"}";
    }

    private static String describe(Exception e) {
        return e instanceof XAException ? XaErrors.codeName(((XAException) e).errorCode) : e.toString();
    }

    private static void send(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String key(String txid, String branchId) {
        return txid + "/" + branchId;
    }

    private static void closeQuietly(XAConnection c) {
        try {
            c.close();
        } catch (SQLException | RuntimeException e) {
            // gone already
        }
    }

    /** Stops serving callbacks; parked connections close (unprepared work rolls back, prepared branches stay). */
    @Override
    public void close() {
        server.stop(0);
        callbackThreads.shutdownNow();
        reaper.shutdownNow();
        for (Parked p : parked.values()) {
            synchronized (p) {
                p.finished = true;
                release(p);
            }
        }
    }
}
