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
