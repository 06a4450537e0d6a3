package dev.pledge.coordinator.resources;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.testkit.FakeParticipant;
import dev.pledge.xa.XidCodec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code POST /api/v1/admin/heuristic} and {@code GET /api/v1/admin/audit} against a real PostgreSQL:
 * an operator commits, rolls back or forgets a prepared branch; an action against a recorded decision
 * is refused unless forced; every accepted action is in the audit log with who, why and what came of it.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class HeuristicActionsTest {
    private static final String TOKEN = "heuristic-token";
    private static final EmbeddedPostgresServer PG = EmbeddedPostgresServer.start();

    @LocalServerPort
    int port;
    private ApiClient api;

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws Exception {
        r.add("pledge.data-dir", XaBridgingTest::tempDir); // epoch 3 in the log: this run is epoch 4
        r.add("pledge.cluster-id", () -> "xh");
        r.add("pledge.security.bootstrap-token", () -> TOKEN);
        r.add("pledge.security.tokens.viewer.sha256",
                () -> "d036bd6d01a1cae081d39a2f8dab751dc042de814fd60df31fcb553170950f29"); // sha256("viewer-token")
        r.add("pledge.security.tokens.viewer.roles", () -> "VIEWER");
        r.add("pledge.resources.orders.type", () -> "postgresql");
        r.add("pledge.resources.orders.url", PG::jdbcUrl);
        r.add("pledge.resources.orders.user", () -> EmbeddedPostgresServer.USER);
        r.add("pledge.participant.call-timeout", () -> "1s");
        r.add("pledge.phase-two.initial-backoff", () -> "50ms");
        r.add("pledge.phase-two.max-backoff", () -> "300ms");
        // the scanner must not resolve anything by itself here: only the operator acts
        r.add("pledge.recovery.scan-interval", () -> "1h");
        r.add("pledge.recovery.orphan-safety-interval", () -> "1h");
        OrdersTable.create(PG);
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        PG.close();
    }

    @BeforeEach
    void client() {
        api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
    }

    private ApiClient.Response heuristic(String target, String action, String reason, boolean force) {
        return api.post("/api/v1/admin/heuristic", "{" + target + ",\"action\":\"" + action + "\",\"reason\":\""
                + reason + "\"" + (force ? ",\"force\":true" : "") + "}");
    }

    private static String byTxid(String txid, String branchId) {
        return "\"resource\":\"orders\",\"txid\":\"" + txid + "\",\"branchId\":\"" + branchId + "\"";
    }

    private JsonNode auditEntry(String id) {
        for (JsonNode e : api.get("/api/v1/admin/audit?limit=500").json().get("items")) {
            if (e.get("id").asString().equals(id)) {
                return e;
            }
        }
        return null;
    }

    private boolean auditMentions(String txid) {
        return api.get("/api/v1/admin/audit?limit=500").body().contains(txid);
    }

    @Test
    void anUnknownBranchIsRolledBackByAnOperatorAndAudited() throws Exception {
        long epoch = api.get("/api/v1/cluster").json().get("epoch").asLong();
        String unknown = "xh:" + epoch + ":55501"; // this epoch, never issued: the scanner leaves it to an operator
        OrdersTable.prepareInsert(PG, unknown, "orders:who:1", "h-unknown");

        ApiClient.Response r = heuristic(byTxid(unknown, "orders:who:1"), "ROLLBACK", "app gone, ticket OPS-1", false);

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode action = r.json().get("action");
        assertThat(action.get("outcome").asString()).isEqualTo("DONE");
        assertThat(OrdersTable.isPrepared(PG, XidCodec.encode(unknown, "orders:who:1"))).isFalse();
        assertThat(OrdersTable.rowExists(PG, "h-unknown")).isFalse();
        JsonNode audited = auditEntry(action.get("id").asString());
        assertThat(audited).isNotNull();
        assertThat(audited.get("operator").asString()).isEqualTo("bootstrap");
        assertThat(audited.get("reason").asString()).isEqualTo("app gone, ticket OPS-1");
        assertThat(audited.get("action").asString()).isEqualTo("ROLLBACK");
        assertThat(audited.get("txid").asString()).isEqualTo(unknown);
        assertThat(audited.get("outcome").asString()).isEqualTo("DONE");
        assertThat(audited.get("finishedAt").isNull()).isFalse();
        assertThat(audited.get("force").asBoolean()).isFalse();
    }

    @Test
    void aForeignXidIsCommittedByItsXidAsTheListingShowsIt() throws Exception {
        OrdersTable.prepareForeign(PG, "h-foreign");
        JsonNode listed = null;
        for (JsonNode x : api.get("/api/v1/resources/orders/prepared").json().get("xids")) {
            if ("FOREIGN".equals(x.get("classification").asString())) {
                listed = x;
            }
        }
        assertThat(listed).as("the foreign XID is listed").isNotNull();
        String xid = "\"resource\":\"orders\",\"xid\":{\"formatId\":" + listed.get("formatId").asInt() + ",\"gtrid\":\""
                + listed.get("gtrid").asString() + "\",\"bqual\":\"" + listed.get("bqual").asString() + "\"}";

        ApiClient.Response r = heuristic(xid, "COMMIT", "Atomikos log lost; order confirmed by phone", false);

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(OrdersTable.rowExists(PG, "h-foreign")).isTrue();
        assertThat(OrdersTable.isPrepared(PG, OrdersTable.FOREIGN_XID)).isFalse();
        JsonNode audited = auditEntry(r.json().get("action").get("id").asString());
        assertThat(audited.get("xid").get("formatId").asInt()).isEqualTo(4660);
        assertThat(audited.path("txid").isMissingNode() || audited.get("txid").isNull())
                .as("a foreign XID has no txid of ours").isTrue();
    }

    @Test
    void committingABranchOfAnAbortedTransactionIsRefusedUntilForced() throws Exception {
        String aborted = "xh:2:77"; // an older epoch without COMMIT record: presumed aborted (S3)
        OrdersTable.prepareInsert(PG, aborted, "orders:late:1", "h-aborted");

        ApiClient.Response refused = heuristic(byTxid(aborted, "orders:late:1"), "COMMIT", "customer insists", false);

        assertThat(refused.status()).as(refused.body()).isEqualTo(409);
        assertThat(refused.contentType()).startsWith("application/problem+json");
        assertThat(refused.field("type")).endsWith("/heuristic-risk");
        assertThat(refused.field("detail")).contains(aborted).contains("HEURISTIC_MIXED").contains("\"force\": true");
        assertThat(refused.json().get("forceable").asBoolean()).isTrue();
        assertThat(OrdersTable.isPrepared(PG, XidCodec.encode(aborted, "orders:late:1"))).as("nothing done").isTrue();
        assertThat(auditMentions(aborted)).as("a refused action writes nothing").isFalse();

        ApiClient.Response forced = heuristic(byTxid(aborted, "orders:late:1"), "COMMIT", "customer insists", true);

        assertThat(forced.status()).as(forced.body()).isEqualTo(200);
        assertThat(OrdersTable.rowExists(PG, "h-aborted")).isTrue();
        assertThat(auditEntry(forced.json().get("action").get("id").asString()).get("force").asBoolean()).isTrue();
    }

    @Test
    void rollingBackABranchOfACommittedTransactionIsRefused() throws Exception {
        try (FakeParticipant a = new FakeParticipant("a"); FakeParticipant b = new FakeParticipant("b")) {
            String txid = api.begin(30_000);
            api.registerActive(txid, "a:1", "a-db", a.callbackUrl());
            api.registerActive(txid, "b:1", "b-db", b.callbackUrl());
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", "{\"wait\":\"completion\"}").field("outcome"))
                    .isEqualTo("COMMITTED");

            ApiClient.Response r = heuristic(byTxid(txid, "orders:x:1"), "ROLLBACK", "looks stuck", false);

            assertThat(r.status()).as(r.body()).isEqualTo(409);
            assertThat(r.field("detail")).contains("COMMIT record").contains(txid);
            assertThat(auditMentions(txid)).isFalse();
        }
    }

    @Test
    void anUndecidedTransactionIsNeverTouchedEvenWhenForced() throws Exception {
        String active = api.begin(30_000);
        OrdersTable.prepareInsert(PG, active, "orders:live:1", "h-active");

        ApiClient.Response r = heuristic(byTxid(active, "orders:live:1"), "ROLLBACK", "impatient", true);

        assertThat(r.status()).as(r.body()).isEqualTo(409);
        assertThat(r.field("detail")).contains("not decided yet").contains("/rollback");
        assertThat(r.json().get("forceable").asBoolean()).isFalse();
        assertThat(OrdersTable.isPrepared(PG, XidCodec.encode(active, "orders:live:1"))).isTrue();
        assertThat(api.state(active)).isEqualTo("ACTIVE");
        PG.execute("ROLLBACK PREPARED '" + OrdersTable.gid(active, "orders:live:1") + "'");
    }

    @Test
    void forgettingABranchPhaseTwoCannotFinishEndsTheTransactionAndLeavesInDoubt() throws Exception {
        try (FakeParticipant gone = new FakeParticipant("gone"); FakeParticipant ok = new FakeParticipant("ok")) {
            String txid = api.begin(30_000);
            api.registerActive(txid, "gone:1", "lost-db", gone.callbackUrl());
            api.registerActive(txid, "ok:1", "ok-db", ok.callbackUrl());
            gone.failNextPhaseTwoCalls(Integer.MAX_VALUE); // and the coordinator has no XA connection to lost-db
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", "{}").field("outcome")).isEqualTo("COMMITTED");
            await().atMost(Duration.ofSeconds(10)).until(() -> api.get("/api/v1/in-doubt").body().contains(txid)
                    && api.get("/api/v1/transactions/" + txid).body().contains("FAILED_RETRYING"));
            String target = "\"txid\":\"" + txid + "\",\"branchId\":\"gone:1\"";

            ApiClient.Response retried = api.post("/api/v1/admin/transactions/" + txid + "/retry", null);
            assertThat(retried.status()).as(retried.body()).isEqualTo(200);
            ApiClient.Response refused = heuristic(target, "FORGET", "lost-db was dropped, data restored by hand", false);
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(refused.field("detail")).contains("FAILED_RETRYING").contains("lost-db");

            ApiClient.Response forgot = heuristic(target, "FORGET", "lost-db was dropped, data restored by hand", true);

            assertThat(forgot.status()).as(forgot.body()).isEqualTo(200);
            assertThat(forgot.json().get("action").get("outcome").asString()).isEqualTo("COORDINATOR_ONLY");
            assertThat(forgot.json().get("transaction").get("state").asString()).isEqualTo("HEURISTIC_MIXED");
            assertThat(api.state(txid)).isEqualTo("HEURISTIC_MIXED");
            assertThat(api.get("/api/v1/in-doubt").body()).doesNotContain(txid);
            assertThat(ok.state(txid, "ok:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
            String metrics = api.get("/actuator/prometheus").body();
            assertThat(metrics).containsPattern("pledge_admin_heuristic_actions_total(\\{[^}]*\\})? [1-9]");
            String audit = api.get("/api/v1/admin/audit").body();
            assertThat(audit).contains("\"action\":\"RETRY\"").contains("\"action\":\"FORGET\"");
            assertThat(audit.indexOf("FORGET")).as("newest first").isLessThan(audit.indexOf("RETRY"));
        }
    }

    @Test
    void badRequestsAreProblemsAndChangeNothing() throws Exception {
        String stray = "xh:2:88";
        OrdersTable.prepareInsert(PG, stray, "orders:stray:1", "h-stray");
        String target = byTxid(stray, "orders:stray:1");
        int auditedBefore = api.get("/api/v1/admin/audit?limit=500").json().get("items").size();

        assertProblem(heuristic(target, "ROLLBACK", " ", false), 400, "/malformed-request", "reason is required");
        assertProblem(heuristic(target, "DELETE", "why not", false), 400, "/malformed-request", "COMMIT, ROLLBACK or FORGET");
        assertProblem(heuristic(target, "ROLLBACK", "broken \\ud800 text", false), 400, "/malformed-request",
                "unpaired");
        assertProblem(heuristic(target, "ROLLBACK", "x".repeat(1001), false), 400, "/malformed-request", "1001");
        assertProblem(heuristic(target + ",\"xid\":{\"formatId\":1,\"gtrid\":\"YQ==\"}", "ROLLBACK", "r", false), 400,
                "/malformed-request", "not both");
        assertProblem(heuristic("\"resource\":\"orders\",\"xid\":{\"formatId\":1,\"gtrid\":\"%%%\"}", "ROLLBACK", "r",
                false), 400, "/malformed-request", "base64");
        assertProblem(heuristic(byTxid("not-a-txid", "b"), "ROLLBACK", "r", false), 400, "/invalid-txid", "not-a-txid");
        assertProblem(heuristic("\"resource\":\"nope\",\"txid\":\"" + stray + "\",\"branchId\":\"orders:stray:1\"",
                "ROLLBACK", "r", false), 404, "/resource-not-found", "nope");
        assertProblem(heuristic("\"txid\":\"" + stray + "\",\"branchId\":\"orders:stray:1\"", "ROLLBACK", "r", false),
                400, "/malformed-request", "resource is required");
        assertProblem(api.post("/api/v1/admin/heuristic", "{\"resource\":"), 400, "/malformed-request", "");
        assertProblem(new ApiClient("http://127.0.0.1:" + port, "viewer-token").post("/api/v1/admin/heuristic",
                "{" + target + ",\"action\":\"ROLLBACK\",\"reason\":\"r\"}"), 403, "/forbidden", "role");
        assertProblem(new ApiClient("http://127.0.0.1:" + port, null).post("/api/v1/admin/heuristic",
                "{" + target + ",\"action\":\"ROLLBACK\",\"reason\":\"r\"}"), 401, "/unauthorized", "Bearer");
        assertProblem(api.get("/api/v1/admin/audit?limit=0"), 400, "/malformed-request", "limit=0");
        assertProblem(api.get("/api/v1/admin/audit?cursor=nope"), 400, "/malformed-request", "cursor");

        assertThat(OrdersTable.isPrepared(PG, XidCodec.encode(stray, "orders:stray:1"))).isTrue();
        assertThat(api.get("/api/v1/admin/audit?limit=500").json().get("items").size()).isEqualTo(auditedBefore);
        assertThat(new ApiClient("http://127.0.0.1:" + port, "viewer-token").get("/api/v1/admin/audit").status())
                .as("viewers read the audit log").isEqualTo(200);
        PG.execute("ROLLBACK PREPARED '" + OrdersTable.gid(stray, "orders:stray:1") + "'");
    }

    @Test
    void theAuditLogPagesNewestFirst() throws Exception {
        long epoch = api.get("/api/v1/cluster").json().get("epoch").asLong();
        for (int i = 0; i < 3; i++) {
            String txid = "xh:" + epoch + ":6660" + i;
            OrdersTable.prepareInsert(PG, txid, "orders:p:1", "h-page-" + i);
            assertThat(heuristic(byTxid(txid, "orders:p:1"), "ROLLBACK", "page " + i, false).status()).isEqualTo(200);
        }
        JsonNode first = api.get("/api/v1/admin/audit?limit=2").json();
        assertThat(first.get("items").get(0).get("reason").asString()).isEqualTo("page 2");
        assertThat(first.get("items").get(1).get("reason").asString()).isEqualTo("page 1");
        JsonNode second = api.get("/api/v1/admin/audit?limit=2&cursor=" + first.get("nextCursor").asString()).json();
        assertThat(second.get("items").get(0).get("reason").asString()).isEqualTo("page 0");
    }

    private static void assertProblem(ApiClient.Response r, int status, String typeSuffix, String detailPart) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).as(r.body()).startsWith("application/problem+json");
        assertThat(r.field("type")).endsWith(typeSuffix);
        assertThat(r.field("detail")).contains(detailPart);
    }
}
