package dev.pledge.coordinator.participant;

import dev.pledge.coordinator.txn.ParticipantGateway;
import dev.pledge.protocol.ParticipantCalls;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Calls participant callbacks with the JDK HttpClient (HTTP/1.1, keep-alive, asynchronous), with
 * the coordinator's bearer token. Any status other than 200, or a body without the expected field,
 * fails the future: the engine treats that like a lost call. Every call names the calling node in its
 * {@code User-Agent} ({@code pledge-coordinator node=<node id>}), so a participant's access log shows which
 * member of a cluster drove a branch.
 */
public final class HttpParticipantGateway implements ParticipantGateway {
    private static final int MAX_RESPONSE_BYTES = 16 * 1024;
    /** Followed by the node id; see the class comment. */
    public static final String USER_AGENT_PREFIX = "pledge-coordinator node=";

    private final HttpClient client;
    private final JsonMapper json;
    private final String bearerToken;
    private final Duration requestTimeout;
    private final String userAgent;

    public HttpParticipantGateway(JsonMapper json, String bearerToken, String nodeId, Duration connectTimeout,
                                  Duration requestTimeout, Executor executor) {
        this.json = json;
        this.userAgent = USER_AGENT_PREFIX + nodeId;
        this.bearerToken = bearerToken;
        this.requestTimeout = requestTimeout;
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(executor);
        if (System.getProperty("http.proxyHost") == null && System.getProperty("https.proxyHost") == null
                && !Boolean.getBoolean("java.net.useSystemProxies")) {
            // Without a proxy configured, the default selector still reads the proxy properties on every
            // call (7 % of the coordinator's CPU while it finished 10,000 transactions after a restart).
            builder.proxy(HttpClient.Builder.NO_PROXY);
        }
        this.client = builder.build();
    }

    @Override
    public CompletableFuture<VoteResult> prepare(String callbackUrl, String txid, String branchId) {
        return post(callbackUrl + ParticipantCalls.PREPARE, new ParticipantCalls.PrepareRequest(txid, branchId),
                ParticipantCalls.VoteResponse.class)
                .thenApply(r -> {
                    if (r.vote() == null) {
                        throw new IllegalStateException("participant at " + callbackUrl + " answered PREPARE without a vote");
                    }
                    return new VoteResult(r.vote(), r.reason());
                });
    }

    @Override
    public CompletableFuture<String> commit(String callbackUrl, String txid, String branchId, boolean onePhase) {
        return post(callbackUrl + ParticipantCalls.COMMIT, new ParticipantCalls.PhaseTwoRequest(txid, branchId, onePhase),
                ParticipantCalls.PhaseTwoResponse.class).thenApply(r -> outcome(callbackUrl, r));
    }

    @Override
    public CompletableFuture<String> rollback(String callbackUrl, String txid, String branchId) {
        return post(callbackUrl + ParticipantCalls.ROLLBACK, new ParticipantCalls.RollbackRequest(txid, branchId),
                ParticipantCalls.PhaseTwoResponse.class).thenApply(r -> outcome(callbackUrl, r));
    }

    private static String outcome(String callbackUrl, ParticipantCalls.PhaseTwoResponse r) {
        String o = r.outcome();
        if (!ParticipantCalls.PhaseTwoResponse.COMMITTED.equals(o) && !ParticipantCalls.PhaseTwoResponse.ROLLED_BACK.equals(o)
                && !ParticipantCalls.PhaseTwoResponse.UNKNOWN_BRANCH.equals(o)) {
            throw new IllegalStateException("participant at " + callbackUrl + " answered an unknown outcome '" + o + "'");
        }
        return o;
    }

    private <T> CompletableFuture<T> post(String url, Object body, Class<T> type) {
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(URI.create(url))
                    .timeout(requestTimeout)
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/json")
                    .header("User-Agent", userAgent)
                    .header(ParticipantCalls.SENT_AT_HEADER, Instant.now().toString())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(body)));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (bearerToken != null) {
            request.header("Authorization", "Bearer " + bearerToken);
        }
        return client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofByteArray()).thenApply(response -> {
            if (response.statusCode() != 200) {
                throw new IllegalStateException("participant at " + url + " answered HTTP " + response.statusCode());
            }
            byte[] bytes = response.body();
            if (bytes.length > MAX_RESPONSE_BYTES) {
                throw new IllegalStateException("participant at " + url + " answered " + bytes.length + " bytes, more than "
                        + MAX_RESPONSE_BYTES);
            }
            return json.readValue(bytes, type);
        });
    }
}
