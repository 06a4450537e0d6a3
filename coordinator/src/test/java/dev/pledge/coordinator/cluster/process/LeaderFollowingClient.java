package dev.pledge.coordinator.cluster.process;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The smallest client a service could use against a Pledge cluster: sends to the leader it last
 * learned of (or to any node), follows {@code 307} with {@code Pledge-Leader}/{@code Location}, and
 * retries {@code 503} and connection errors with capped, jittered backoff until its patience runs
 * out. Everything it retries is idempotent by API.md, except begin, where a lost reply leaves at
 * worst an ACTIVE transaction nobody commits (it expires).
 */
final class LeaderFollowingClient {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int MAX_HOPS = 4;

    /** A final answer (not 307, not 503) and the node that gave it. */
    record Reply(int status, String body, String node) {
        JsonNode json() {
            return JSON.readTree(body);
        }

        String field(String name) {
            JsonNode n = json().get(name);
            return n == null || n.isNull() ? null : n.asString();
        }
    }

    /** No final answer within the client's patience: the caller does not know what happened. */
    static final class Unavailable extends RuntimeException {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1)).followRedirects(HttpClient.Redirect.NEVER).build();
    private final List<String> nodes;
    private final String token;
    private final Duration requestTimeout;
    private final Duration patience;
    private final AtomicInteger nextNode = new AtomicInteger(ThreadLocalRandom.current().nextInt(1000));
    private volatile String leader;

    LeaderFollowingClient(List<String> nodes, String token, Duration requestTimeout, Duration patience) {
        this.nodes = List.copyOf(nodes);
        this.token = token;
        this.requestTimeout = requestTimeout;
        this.patience = patience;
    }

    Reply post(String path, String json) {
        return send("POST", path, json);
    }

    Reply get(String path) {
        return send("GET", path, null);
    }

    Reply send(String method, String path, String json) {
        long deadline = System.nanoTime() + patience.toNanos();
        long backoffMs = 25;
        String target = leader != null ? leader : anyNode();
        int hops = 0;
        String last = "nothing tried";
        Throwable lastError = null;
        while (true) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target + path)).timeout(requestTimeout)
                    .header("Authorization", "Bearer " + token);
            if ("POST".equals(method)) {
                b.header("Content-Type", "application/json")
                        .POST(json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
            } else {
                b.GET();
            }
            boolean redirected = false;
            try {
                HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                int status = r.statusCode();
                if (status == 307) {
                    String from = target;
                    String next = r.headers().firstValue("Pledge-Leader")
                            .orElseGet(() -> baseOf(r.headers().firstValue("Location").orElse(from)));
                    last = target + " redirected to " + next;
                    leader = next;
                    target = next;
                    redirected = ++hops <= MAX_HOPS;
                } else if (status == 503) {
                    last = target + " answered 503 " + r.body();
                    if (r.body().contains("no-leader")) {
                        leader = null;
                        target = anyNode();
                    }
                } else {
                    if (status < 500) {
                        leader = target;
                    }
                    return new Reply(status, r.body(), target);
                }
            } catch (IOException e) {
                last = target + " failed: " + e;
                lastError = e;
                leader = null;
                target = anyNode();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Unavailable(method + " " + path + " interrupted", e);
            }
            if (redirected) {
                continue;
            }
            hops = 0;
            if (System.nanoTime() - deadline > 0) {
                throw new Unavailable(method + " " + path + ": no final answer within " + patience + "; last: " + last,
                        lastError);
            }
            sleep(ThreadLocalRandom.current().nextLong(backoffMs / 2, backoffMs + 1));
            backoffMs = Math.min(backoffMs * 2, 400);
        }
    }

    private String anyNode() {
        return nodes.get(Math.floorMod(nextNode.getAndIncrement(), nodes.size()));
    }

    private static String baseOf(String location) {
        URI uri = URI.create(location);
        return uri.getScheme() + "://" + uri.getAuthority();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted", e);
        }
    }

    // ------------------------------------------------------------------ the calls of API.md

    /** Begins a transaction; the txid, or null when the cluster did not answer 201. */
    String begin(long timeoutMs) {
        Reply r = post("/api/v1/transactions", "{\"timeoutMs\":" + timeoutMs + "}");
        return r.status() == 201 ? r.field("txid") : null;
    }

    /** Registers an ACTIVE branch with a callback; the HTTP status (201, or 409 once the transaction is not ACTIVE). */
    int registerActive(String txid, String branchId, String resource, String callbackUrl) {
        return post("/api/v1/transactions/" + txid + "/branches", "{\"branchId\":\"" + branchId + "\",\"resource\":\""
                + resource + "\",\"state\":\"ACTIVE\",\"callbackUrl\":\"" + callbackUrl + "\"}").status();
    }

    /** Registers a branch the participant already prepared, with the callback that finishes it. */
    int registerPrepared(String txid, String branchId, String resource, String callbackUrl) {
        return post("/api/v1/transactions/" + txid + "/branches", "{\"branchId\":\"" + branchId + "\",\"resource\":\""
                + resource + "\",\"state\":\"PREPARED\",\"callbackUrl\":\"" + callbackUrl + "\"}").status();
    }

    /** Asks for the decision until there is one: COMMITTED or ABORTED (503 outcome-unknown is retried). */
    String commit(String txid) {
        Reply r = post("/api/v1/transactions/" + txid + "/commit", null);
        if (r.status() != 200) {
            throw new IllegalStateException("commit of " + txid + " answered " + r.status() + " by " + r.node() + ": "
                    + r.body());
        }
        return r.field("outcome");
    }

    /** The transaction's state as the leader reports it (ABORTED with presumed=true for a dead older epoch). */
    String state(String txid) {
        Reply r = get("/api/v1/transactions/" + txid);
        return r.status() == 200 ? r.field("state") : "HTTP " + r.status();
    }

    /** The epoch part of a txid {@code <clusterId>:<epoch>:<seq>}. */
    static long epochOf(String txid) {
        return Long.parseLong(txid.split(":")[1]);
    }

    static long seqOf(String txid) {
        return Long.parseLong(txid.split(":")[2]);
    }
}
