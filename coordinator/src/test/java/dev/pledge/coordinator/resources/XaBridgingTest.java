package dev.pledge.coordinator.resources;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.FileDecisionLog;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * XA bridging against a real PostgreSQL: when a participant cannot finish its prepared branch
 * (gone, failing, or it forgot the branch), the coordinator commits or rolls it back at the
 * database itself through its own XA connection.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class XaBridgingTest {
    private static final String TOKEN = "bridging-token";
    private static final EmbeddedPostgresServer PG = EmbeddedPostgresServer.start();

    @LocalServerPort
    int port;
    private ApiClient api;

    @DynamicPropertySource
    static void props(DynamicPropertyRegistry r) throws Exception {
        r.add("pledge.data-dir", () -> tempDir());
        r.add("pledge.cluster-id", () -> "xb");
        r.add("pledge.security.bootstrap-token", () -> TOKEN);
        r.add("pledge.resources.orders.type", () -> "postgresql");
        r.add("pledge.resources.orders.url", PG::jdbcUrl);
        r.add("pledge.resources.orders.user", () -> EmbeddedPostgresServer.USER);
        r.add("pledge.participant.completion-grace", () -> "500ms");
        r.add("pledge.participant.call-timeout", () -> "1s");
        r.add("pledge.phase-two.initial-backoff", () -> "50ms");
        r.add("pledge.phase-two.max-backoff", () -> "300ms");
        r.add("pledge.recovery.scan-interval", () -> "1h");
        r.add("pledge.recovery.orphan-safety-interval", () -> "1s");
        OrdersTable.create(PG);
    }

    /** A data dir whose log already holds epoch 3, so this run is epoch 4 and txids of epoch 2 are "older". */
    static String tempDir() {
        try {
            java.nio.file.Path dir = Files.createTempDirectory("pledge-bridging");
            try (FileDecisionLog log = new FileDecisionLog(dir.resolve("log"))) {
                log.open();
                log.append(new LogRecord.Epoch(3), DecisionLog.Durability.FORCED).get();
            }
            return dir.toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        PG.close();
    }

    @BeforeEach
    void client() {
        api = new ApiClient("http://127.0.0.1:" + port, TOKEN);
    }

    private String inlinePrepared(String branchId, String callbackUrl) {
        return "{\"branchId\":\"" + branchId + "\",\"resource\":\"orders\",\"state\":\"PREPARED\""
                + (callbackUrl == null ? "" : ",\"callbackUrl\":\"" + callbackUrl + "\"") + "}";
    }

    private JsonNode branch(String txid, String branchId) {
        for (JsonNode b : api.get("/api/v1/transactions/" + txid).json().get("branches")) {
            if (b.get("branchId").asString().equals(branchId)) {
                return b;
            }
        }
        throw new AssertionError("no branch " + branchId + " in " + txid);
    }

    @Test
    void aDeadParticipantsPreparedBranchIsCommittedAtTheDatabase() throws Exception {
        try (FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            OrdersTable.prepareInsert(PG, txid, "orders:app-1:1", "o-dead");
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            String body = "{\"branches\":[" + inlinePrepared("orders:app-1:1", "http://127.0.0.1:1/gone") + "]}";
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", body).field("outcome")).isEqualTo("COMMITTED");
            await().atMost(Duration.ofSeconds(15)).until(() -> "COMMITTED".equals(api.state(txid)));
            assertThat(OrdersTable.rowExists(PG, "o-dead")).isTrue();
            assertThat(other.state(txid, "other:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
            assertThat(branch(txid, "orders:app-1:1").get("attempts").asInt()).isPositive();
            assertThat(OrdersTable.preparedCount(PG)).isZero();
        }
    }

    @Test
    void aBranchWithoutCallbackIsFinishedAfterTheGracePeriod() throws Exception {
        try (FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            OrdersTable.prepareInsert(PG, txid, "orders:app-2:1", "o-grace");
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            long start = System.nanoTime();
            String body = "{\"branches\":[" + inlinePrepared("orders:app-2:1", null) + "]}";
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", body).field("outcome")).isEqualTo("COMMITTED");
            await().atMost(Duration.ofSeconds(15)).until(() -> "COMMITTED".equals(api.state(txid)));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(500));
            assertThat(OrdersTable.rowExists(PG, "o-grace")).isTrue();
        }
    }

    @Test
    void aBranchItsParticipantForgotIsCommittedAtTheDatabase() throws Exception {
        try (FakeParticipant forgetful = new FakeParticipant("forgetful"); FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            OrdersTable.prepareInsert(PG, txid, "orders:app-3:1", "o-forgot");
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            // the fake participant never saw this branch, so it answers UNKNOWN_BRANCH to the commit
            String body = "{\"branches\":[" + inlinePrepared("orders:app-3:1", forgetful.callbackUrl()) + "]}";
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", body).field("outcome")).isEqualTo("COMMITTED");
            await().atMost(Duration.ofSeconds(15)).until(() -> "COMMITTED".equals(api.state(txid)));
            assertThat(OrdersTable.rowExists(PG, "o-forgot")).isTrue();
        }
    }

    @Test
    void anAbortRollsBackThePreparedBranchAtTheDatabase() throws Exception {
        try (FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            OrdersTable.prepareInsert(PG, txid, "orders:app-4:1", "o-abort");
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            other.voteAbort("other:1");
            String body = "{\"branches\":[" + inlinePrepared("orders:app-4:1", "http://127.0.0.1:1/gone") + "]}";
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", body).field("outcome")).isEqualTo("ABORTED");
            await().atMost(Duration.ofSeconds(15)).until(() -> "ABORTED".equals(api.state(txid)));
            assertThat(OrdersTable.rowExists(PG, "o-abort")).isFalse();
            assertThat(OrdersTable.preparedCount(PG)).isZero();
        }
    }

    @Test
    void aBranchRolledBackBehindOurBackIsShownAsAssumedCommitted() throws Exception {
        try (FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            OrdersTable.prepareInsert(PG, txid, "orders:app-5:1", "o-behind");
            // someone resolves the branch by hand before the coordinator gets to it
            PG.execute("ROLLBACK PREPARED '" + OrdersTable.gid(txid, "orders:app-5:1") + "'");
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            String body = "{\"branches\":[" + inlinePrepared("orders:app-5:1", "http://127.0.0.1:1/gone") + "]}";
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", body).field("outcome")).isEqualTo("COMMITTED");
            await().atMost(Duration.ofSeconds(15)).until(() -> "COMMITTED".equals(api.state(txid)));
            JsonNode b = branch(txid, "orders:app-5:1");
            assertThat(b.get("assumedCommitted").asBoolean()).isTrue();
            assertThat(b.get("lastError").asString()).contains("XAER_NOTA");
            assertThat(OrdersTable.rowExists(PG, "o-behind")).isFalse();
        }
    }

    @Test
    void resourcesAreListedWithReachability() {
        ApiClient.Response r = api.get("/api/v1/resources");
        assertThat(r.status()).isEqualTo(200);
        JsonNode first = r.json().get(0);
        assertThat(first.get("name").asString()).isEqualTo("orders");
        assertThat(first.get("reachable").asBoolean()).isTrue();
        assertThat(r.body()).doesNotContain("password");
    }

    private JsonNode scanEntry(ApiClient.Response scan, String txid) {
        assertThat(scan.status()).as(scan.body()).isEqualTo(200);
        for (JsonNode x : scan.json().get("xids")) {
            if (x.get("txid") != null && txid.equals(x.get("txid").asString())) {
                return x;
            }
        }
        return null;
    }

    private ApiClient.Response scan() {
        return api.post("/api/v1/resources/orders/scan", null);
    }

    @Test
    void anOrphanOfAnOlderEpochIsRolledBackOnlyAfterTwoScansApart() throws Exception {
        assertThat(api.get("/api/v1/cluster").json().get("epoch").asLong()).isEqualTo(4);
        String orphan = "xb:2:99";
        OrdersTable.prepareInsert(PG, orphan, "orders:dead-app:1", "o-orphan");
        JsonNode first = scanEntry(scan(), orphan);
        assertThat(first.get("classification").asString()).isEqualTo("ORPHAN_ROLLBACK_PENDING");
        assertThat(first.get("action").asString()).contains("once seen again");
        assertThat(OrdersTable.rowExists(PG, "o-orphan")).isFalse();
        assertThat(OrdersTable.preparedCount(PG)).as("first scan must not roll back (S5)").isPositive();
        Thread.sleep(1100);
        JsonNode second = scanEntry(scan(), orphan);
        assertThat(second.get("action").asString()).startsWith("rolled back");
        assertThat(scanEntry(api.get("/api/v1/resources/orders/prepared"), orphan)).isNull();
        assertThat(OrdersTable.rowExists(PG, "o-orphan")).isFalse();
    }

    @Test
    void foreignActiveAndUnknownXidsAreNeverTouched() throws Exception {
        long epoch = api.get("/api/v1/cluster").json().get("epoch").asLong();
        String active = api.begin(30_000);
        OrdersTable.prepareInsert(PG, active, "orders:live:1", "o-active");
        String unknown = "xb:" + epoch + ":987654321";
        OrdersTable.prepareInsert(PG, unknown, "orders:who:1", "o-unknown");
        OrdersTable.prepareForeign(PG, "o-foreign");
        scan();
        Thread.sleep(1100);
        ApiClient.Response report = scan();
        assertThat(scanEntry(report, active).get("classification").asString()).isEqualTo("ACTIVE");
        assertThat(scanEntry(report, unknown).get("classification").asString()).isEqualTo("UNKNOWN");
        assertThat(report.body()).contains("FOREIGN");
        try (Connection c = PG.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT gid FROM pg_prepared_xacts")) {
            int n = 0;
            while (rs.next()) {
                n++;
            }
            assertThat(n).isGreaterThanOrEqualTo(3);
        }
        // clean up by hand what the coordinator must not touch
        PG.execute("ROLLBACK PREPARED '" + OrdersTable.gid(active, "orders:live:1") + "'",
                "ROLLBACK PREPARED '" + OrdersTable.gid(unknown, "orders:who:1") + "'",
                "ROLLBACK PREPARED '" + OrdersTable.gid(OrdersTable.FOREIGN_XID) + "'");
    }

    @Test
    void aCommittedTransactionsBranchTheDriverNeverKnewIsCommittedByTheScan() throws Exception {
        try (FakeParticipant other = new FakeParticipant("other")) {
            String txid = api.begin(30_000);
            api.registerActive(txid, "other:1", "other-db", other.callbackUrl());
            api.registerActive(txid, "other:2", "other-db", other.callbackUrl());
            // a branch the application prepared but never reported (it died before the commit request got its list)
            OrdersTable.prepareInsert(PG, txid, "orders:lost:1", "o-lost");
            assertThat(api.post("/api/v1/transactions/" + txid + "/commit", "{\"wait\":\"completion\"}").field("outcome"))
                    .isEqualTo("COMMITTED");
            JsonNode entry = scanEntry(scan(), txid);
            assertThat(entry.get("classification").asString()).isEqualTo("COMMIT_PENDING");
            assertThat(entry.get("action").asString()).startsWith("committed");
            assertThat(OrdersTable.rowExists(PG, "o-lost")).isTrue();
        }
    }

    @Test
    void unknownResourceIs404Problem() {
        ApiClient.Response r = api.get("/api/v1/resources/nope/prepared");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.field("type")).endsWith("/resource-not-found");
    }
}
