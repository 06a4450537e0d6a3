package dev.pledge.coordinator.api;

import dev.pledge.testkit.ApiClient;
import dev.pledge.coordinator.testsupport.CoordinatorTestBase;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;

import static org.assertj.core.api.Assertions.assertThat;

/** Every error path of API.md answers problem+json with a stable type and never changes state. */
class ApiErrorsTest extends CoordinatorTestBase {
    private static final String PROBLEM = "application/problem+json";

    private static void assertProblem(ApiClient.Response r, int status, String type) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith(PROBLEM);
        assertThat(r.field("type")).isEqualTo("https://pledge.dev/problems/" + type);
        assertThat(r.field("title")).isNotBlank();
        assertThat(r.field("detail")).isNotBlank();
    }

    @Test
    void missingTokenIs401() {
        assertProblem(anonymous.post("/api/v1/transactions", null), 401, "unauthorized");
        assertProblem(anonymous.get("/api/v1/cluster"), 401, "unauthorized");
    }

    @Test
    void unknownTokenIs401AndMalformedHeaderToo() {
        assertProblem(new ApiClient("http://127.0.0.1:" + port, "wrong").post("/api/v1/transactions", null), 401, "unauthorized");
        ApiClient.Response basic = anonymous.send(anonymous.request("/api/v1/cluster").header("Authorization", "Basic eDp5").GET());
        assertProblem(basic, 401, "unauthorized");
    }

    @Test
    void viewerCannotWriteButCanRead() {
        ApiClient viewer = new ApiClient("http://127.0.0.1:" + port, VIEWER_TOKEN);
        assertProblem(viewer.post("/api/v1/transactions", null), 403, "forbidden");
        assertThat(viewer.get("/api/v1/cluster").status()).isEqualTo(200);
    }

    @Test
    void leadershipTransferNeedsOperatorAndASingleNodeRefusesItWith409() {
        ApiClient viewer = new ApiClient("http://127.0.0.1:" + port, VIEWER_TOKEN);
        assertProblem(viewer.post("/api/v1/admin/cluster/leader", "{\"nodeId\":\"n2\"}"), 403, "forbidden");
        ApiClient.Response r = api.post("/api/v1/admin/cluster/leader", "{\"nodeId\":\"n2\"}");
        assertProblem(r, 409, "malformed-request");
        assertThat(r.field("detail")).contains("single node");
    }

    @Test
    void healthNeedsNoToken() {
        assertThat(anonymous.get("/actuator/health/readiness").status()).isEqualTo(200);
    }

    @Test
    void unknownTxidOfCurrentEpochIs404WithTxid() {
        long epoch = api.get("/api/v1/cluster").json().get("epoch").asLong();
        String never = "t1:" + epoch + ":999999999";
        ApiClient.Response r = api.get("/api/v1/transactions/" + never);
        assertProblem(r, 404, "transaction-not-found");
        assertThat(r.field("txid")).isEqualTo(never);
        assertProblem(api.commit(never), 404, "transaction-not-found");
    }

    @Test
    void txidOfAnotherClusterIs404() {
        assertProblem(api.get("/api/v1/transactions/other:1:1"), 404, "transaction-not-found");
    }

    @Test
    void malformedTxidIs400() {
        assertProblem(api.get("/api/v1/transactions/not-a-txid"), 400, "invalid-txid");
        assertProblem(api.commit("T1:0:1"), 400, "invalid-txid");
        assertProblem(api.get("/api/v1/transactions/t1:99999999999999999999:1"), 400, "invalid-txid");
    }

    @Test
    void malformedJsonIs400AndLeavesTheTransactionActive() {
        String txid = api.begin(30_000);
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches", "{not json"), 400, "malformed-request");
        assertProblem(api.post("/api/v1/transactions/" + txid + "/commit", "[1,2"), 400, "malformed-request");
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches",
                "{\"branchId\":\"b1\",\"resource\":\"r\",\"state\":\"BOGUS\",\"callbackUrl\":\"http://x/p\"}"), 400, "malformed-request");
        assertThat(api.state(txid)).isEqualTo("ACTIVE");
    }

    @Test
    void invalidBranchesAre400() {
        String txid = api.begin(30_000);
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches",
                "{\"branchId\":\"has space\",\"resource\":\"r\",\"state\":\"ACTIVE\",\"callbackUrl\":\"http://x/p\"}"), 400, "invalid-branch");
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches",
                "{\"branchId\":\"b1\",\"resource\":\"r\",\"state\":\"ACTIVE\"}"), 400, "invalid-branch");
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches",
                "{\"branchId\":\"b1\",\"resource\":\"r\",\"state\":\"ACTIVE\",\"callbackUrl\":\"ftp://x/p\"}"), 400, "invalid-branch");
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches",
                "{\"branchId\":\"b1\",\"resource\":\"r\",\"state\":\"COMMITTED\",\"callbackUrl\":\"http://x/p\"}"), 400, "invalid-branch");
        ApiClient.Response unreachable = api.post("/api/v1/transactions/" + txid + "/branches",
                "{\"branchId\":\"b1\",\"resource\":\"nowhere\",\"state\":\"PREPARED\"}");
        assertProblem(unreachable, 422, "unknown-resource");
        assertThat(unreachable.field("detail")).contains("nowhere").contains("pledge.resources.nowhere");
        assertThat(api.get("/api/v1/transactions/" + txid).json().get("branches")).isEmpty();
    }

    @Test
    void oversizedBodyIs413WithAndWithoutContentLength() {
        String txid = api.begin(30_000);
        String huge = "{\"branchId\":\"b1\",\"resource\":\"r\",\"pad\":\"" + "x".repeat(70_000) + "\"}";
        assertProblem(api.post("/api/v1/transactions/" + txid + "/branches", huge), 413, "payload-too-large");
        // chunked: no Content-Length, so the limit is enforced while reading
        HttpRequest.Builder chunked = api.request("/api/v1/transactions/" + txid + "/branches")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(huge.getBytes())));
        assertProblem(api.send(chunked), 413, "payload-too-large");
        assertThat(api.state(txid)).isEqualTo("ACTIVE");
    }

    @Test
    void wrongMediaTypeIs415() {
        String txid = api.begin(30_000);
        ApiClient.Response r = api.send(api.request("/api/v1/transactions/" + txid + "/branches")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("hello")));
        assertProblem(r, 415, "unsupported-media-type");
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() {
        assertProblem(api.get("/api/v1/nothing-here"), 404, "not-found");
        assertProblem(api.send(api.request("/api/v1/cluster").DELETE()), 405, "method-not-allowed");
    }

    /**
     * Requests the servlet container or the security firewall refuses before any controller sees
     * them answer problem+json too, and change nothing. They go over a plain socket, because
     * HttpClient will not send some of them.
     */
    @Test
    void refusalsBeforeTheApiAreProblemsAndChangeNothing() throws Exception {
        String txid = api.begin(30_000);
        String auth = "Authorization: Bearer " + TOKEN;
        // Tomcat: encoded NUL, encoded slash, invalid UTF-8, a request line over the header limit
        for (String path : new String[] {"/api/v1/transactions/" + txid + "%00/commit",
                "/api/v1/transactions/" + txid + "%2F/commit", "/api/v1/transactions/%ff%fe/commit",
                "/api/v1/transactions/" + "a".repeat(9_000) + "/commit"}) {
            assertRawProblem(raw("POST " + path, auth, "Content-Length: 0"), 400, "malformed-request", path);
        }
        assertRawProblem(raw("GET /api/v1/cluster", auth, "X-Padding: " + "a".repeat(100_000)), 400,
                "malformed-request", "100 KB header");
        // Spring Security's firewall: an encoded '%', a ';', a line break
        for (String path : new String[] {"/api/v1/transactions/" + txid + "%25/commit",
                "/api/v1/transactions/" + txid + ";x=1/commit", "/api/v1/transactions/" + txid + "%0a/commit"}) {
            RawResponse r = raw("POST " + path, auth, "Content-Length: 0");
            assertRawProblem(r, 400, "malformed-request", path);
            assertThat(r.body()).as(path).contains("rejected");
        }
        // Undecodable query and form parameters (Tomcat decodes them lazily and throws)
        assertRawProblem(raw("GET /api/v1/transactions?cursor=%%%", auth), 400, "malformed-request", "cursor=%%%");
        RawResponse form = raw("POST /api/v1/transactions/" + txid + "/commit", auth,
                "Content-Type: application/x-www-form-urlencoded", "Content-Length: 4", "", "%ff=");
        assertThat(form.status()).as(form.body()).isBetween(400, 499);
        assertThat(form.contentType()).startsWith(PROBLEM);
        // The error page asked for directly is not an endpoint
        assertRawProblem(raw("GET /error", auth), 404, "not-found", "/error");
        assertThat(api.state(txid)).isEqualTo("ACTIVE");
    }

    private record RawResponse(int status, String contentType, String body) {
    }

    /** Sends one request line, headers and an optional body (after an empty line) over a socket. */
    private RawResponse raw(String requestLine, String... lines) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            StringBuilder out = new StringBuilder(requestLine).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Connection: close\r\n");
            boolean body = false;
            for (String line : lines) {
                if (line.isEmpty()) {
                    out.append("\r\n");
                    body = true;
                } else {
                    out.append(line).append(body ? "" : "\r\n");
                }
            }
            if (!body) {
                out.append("\r\n");
            }
            socket.getOutputStream().write(out.toString().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            String head = response.substring(0, Math.max(0, response.indexOf("\r\n\r\n")));
            int status = Integer.parseInt(head.substring(9, 12));
            String contentType = head.lines().filter(l -> l.regionMatches(true, 0, "Content-Type:", 0, 13))
                    .map(l -> l.substring(13).trim()).findFirst().orElse("");
            return new RawResponse(status, contentType, response.substring(Math.min(response.length(), head.length() + 4)));
        }
    }

    private static void assertRawProblem(RawResponse r, int status, String type, String what) {
        assertThat(r.status()).as(what + ": " + r.body()).isEqualTo(status);
        assertThat(r.contentType()).as(what).startsWith(PROBLEM);
        assertThat(r.body()).as(what).contains("\"type\":\"https://pledge.dev/problems/" + type + "\"")
                .contains("\"detail\":\"");
    }

    @Test
    void badTimeoutIs400() {
        assertProblem(api.post("/api/v1/transactions", "{\"timeoutMs\":-5}"), 400, "malformed-request");
        assertProblem(api.post("/api/v1/transactions", "{\"timeoutMs\":999999999999}"), 400, "malformed-request");
    }

    @Test
    void registeringOnACommittedTransactionIs409WithState() throws Exception {
        try (FakeParticipant p = new FakeParticipant("p")) {
            String txid = api.begin(30_000);
            api.registerActive(txid, "b1", "r1", p.callbackUrl());
            assertThat(api.commit(txid).field("outcome")).isEqualTo("COMMITTED");
            ApiClient.Response r = api.post("/api/v1/transactions/" + txid + "/branches",
                    "{\"branchId\":\"b2\",\"resource\":\"r\",\"state\":\"ACTIVE\",\"callbackUrl\":\"" + p.callbackUrl() + "\"}");
            assertProblem(r, 409, "transaction-not-active");
            assertThat(r.field("txid")).isEqualTo(txid);
            assertThat(r.field("state")).isEqualTo("COMMITTED");
            assertProblem(api.post("/api/v1/transactions/" + txid + "/rollback", null), 409, "transaction-committed");
        }
    }

    @Test
    void invalidWaitIs400() {
        String txid = api.begin(30_000);
        assertProblem(api.post("/api/v1/transactions/" + txid + "/commit", "{\"wait\":\"forever\"}"), 400, "malformed-request");
        assertThat(api.state(txid)).isEqualTo("ACTIVE");
    }
}
