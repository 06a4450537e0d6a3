package dev.pledge.testkit;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A plain HTTP client for the coordinator's REST API, as a black-box caller would use it. */
public final class ApiClient {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    public record Response(int status, String contentType, String body, HttpResponse<String> raw) {
        public JsonNode json() {
            return JSON.readTree(body);
        }

        public String field(String name) {
            JsonNode n = json().get(name);
            return n == null || n.isNull() ? null : n.asString();
        }
    }

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final String base;
    private final String token;

    public ApiClient(String base, String token) {
        this.base = base;
        this.token = token;
    }

    public Response get(String path) {
        return send(request(path).GET());
    }

    public Response post(String path, String json) {
        HttpRequest.Builder b = request(path);
        if (json == null) {
            b.POST(HttpRequest.BodyPublishers.noBody());
        } else {
            b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        }
        return send(b);
    }

    public Response send(HttpRequest.Builder b) {
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body(), r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    /** Begins a transaction and returns its txid. */
    public String begin(long timeoutMs) {
        Response r = post("/api/v1/transactions", "{\"timeoutMs\":" + timeoutMs + "}");
        if (r.status() != 201) {
            throw new IllegalStateException("begin failed: " + r.status() + " " + r.body());
        }
        return r.field("txid");
    }

    public void registerActive(String txid, String branchId, String resource, String callbackUrl) {
        Response r = post("/api/v1/transactions/" + txid + "/branches", "{\"branchId\":\"" + branchId
                + "\",\"resource\":\"" + resource + "\",\"state\":\"ACTIVE\",\"callbackUrl\":\"" + callbackUrl + "\"}");
        if (r.status() != 201) {
            throw new IllegalStateException("register failed: " + r.status() + " " + r.body());
        }
    }

    public Response commit(String txid) {
        return post("/api/v1/transactions/" + txid + "/commit", null);
    }

    public String state(String txid) {
        return get("/api/v1/transactions/" + txid).field("state");
    }
}
