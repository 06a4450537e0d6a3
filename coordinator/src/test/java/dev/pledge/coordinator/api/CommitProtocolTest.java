package dev.pledge.coordinator.api;

import dev.pledge.testkit.ApiClient;
import dev.pledge.coordinator.testsupport.CoordinatorTestBase;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The commit protocol of DESIGN.md §4 through the REST API, against participants over real HTTP. */
class CommitProtocolTest extends CoordinatorTestBase {
    private FakeParticipant orders;
    private FakeParticipant billing;

    @BeforeEach
    void participants() throws Exception {
        orders = new FakeParticipant("orders");
        billing = new FakeParticipant("billing");
    }

    @AfterEach
    void stop() {
        orders.close();
        billing.close();
    }

    private static List<String> kinds(FakeParticipant p, String txid) {
        return p.calls(txid).stream().map(c -> c.kind() + (c.onePhase() ? "-1pc" : "")).toList();
    }

    @Test
    void twoBranchesPrepareThenCommitThroughTheirCallbacks() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(txid, "billing:1", "billing-db", billing.callbackUrl());
        ApiClient.Response r = api.post("/api/v1/transactions/" + txid + "/commit", "{\"wait\":\"completion\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.field("outcome")).isEqualTo("COMMITTED");
        assertThat(kinds(orders, txid)).containsExactly("prepare", "commit");
        assertThat(kinds(billing, txid)).containsExactly("prepare", "commit");
        assertThat(orders.state(txid, "orders:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(api.state(txid)).isEqualTo("COMMITTED");
        var branches = api.get("/api/v1/transactions/" + txid).json().get("branches");
        assertThat(branches.get(0).get("xid").get("formatId").asInt()).isEqualTo(0x504C4447);
    }

    @Test
    void anAbortVoteRollsBackEveryBranchAndCommitsNone() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(txid, "billing:1", "billing-db", billing.callbackUrl());
        billing.voteAbort("billing:1");
        ApiClient.Response r = api.commit(txid);
        assertThat(r.field("outcome")).isEqualTo("ABORTED");
        assertThat(r.field("reason")).contains("billing:1").contains("voted ABORT");
        await().atMost(Duration.ofSeconds(10)).until(() -> "ABORTED".equals(api.state(txid)));
        assertThat(kinds(orders, txid)).containsExactly("prepare", "rollback");
        assertThat(orders.state(txid, "orders:1")).isEqualTo(FakeParticipant.Branch.ROLLED_BACK);
        assertThat(orders.committed(txid) || billing.committed(txid)).isFalse();
    }

    @Test
    void aParticipantThatDoesNotAnswerPrepareCountsAsAbort() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(txid, "gone:1", "gone-db", "http://127.0.0.1:1/p");
        assertThat(api.commit(txid).field("outcome")).isEqualTo("ABORTED");
        assertThat(orders.committed(txid)).isFalse();
    }

    @Test
    void readOnlyVotesGetNoPhaseTwo() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(txid, "billing:ro", "billing-db", billing.callbackUrl());
        billing.voteReadOnly("billing:ro");
        assertThat(api.post("/api/v1/transactions/" + txid + "/commit", "{\"wait\":\"completion\"}").field("outcome"))
                .isEqualTo("COMMITTED");
        assertThat(kinds(billing, txid)).containsExactly("prepare");
        assertThat(kinds(orders, txid)).containsExactly("prepare", "commit");
    }

    @Test
    void aSingleActiveBranchCommitsInOnePhaseWithoutPrepare() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        assertThat(api.commit(txid).field("outcome")).isEqualTo("COMMITTED");
        assertThat(kinds(orders, txid)).containsExactly("commit-1pc");
        assertThat(api.state(txid)).isEqualTo("COMMITTED");
    }

    @Test
    void earlyPreparedBranchesReportedInlineCommitWithoutPrepare() {
        String txid = api.begin(30_000);
        orders.begin(txid, "orders:1");
        billing.begin(txid, "billing:1");
        // the participants prepared on their own (early prepare) before asking for the decision
        String inline = "{\"branches\":[{\"branchId\":\"orders:1\",\"resource\":\"orders-db\",\"state\":\"PREPARED\",\"callbackUrl\":\""
                + orders.callbackUrl() + "\"},{\"branchId\":\"billing:1\",\"resource\":\"billing-db\",\"state\":\"PREPARED\",\"callbackUrl\":\""
                + billing.callbackUrl() + "\"}],\"wait\":\"completion\"}";
        markPrepared(orders, txid, "orders:1");
        markPrepared(billing, txid, "billing:1");
        assertThat(api.post("/api/v1/transactions/" + txid + "/commit", inline).field("outcome")).isEqualTo("COMMITTED");
        assertThat(kinds(orders, txid)).containsExactly("prepare", "commit");
        assertThat(orders.state(txid, "orders:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(billing.state(txid, "billing:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
    }

    /** Prepares a branch at the fake participant the way an early-preparing SDK would, outside the coordinator. */
    private static void markPrepared(FakeParticipant p, String txid, String branchId) {
        ApiClient direct = new ApiClient(p.callbackUrl(), null);
        direct.post("/prepare", "{\"txid\":\"" + txid + "\",\"branchId\":\"" + branchId + "\"}");
    }

    @Test
    void commitAndRollbackAreIdempotent() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(txid, "billing:1", "billing-db", billing.callbackUrl());
        assertThat(api.commit(txid).field("outcome")).isEqualTo("COMMITTED");
        assertThat(api.commit(txid).field("outcome")).isEqualTo("COMMITTED");
        // registering the same branch again is accepted only while ACTIVE
        String other = api.begin(30_000);
        api.registerActive(other, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(other, "orders:1", "orders-db", orders.callbackUrl());
        assertThat(api.get("/api/v1/transactions/" + other).json().get("branches")).hasSize(1);
        assertThat(api.post("/api/v1/transactions/" + other + "/rollback", null).field("outcome")).isEqualTo("ABORTED");
        assertThat(api.post("/api/v1/transactions/" + other + "/rollback", null).field("outcome")).isEqualTo("ABORTED");
        assertThat(api.commit(other).field("outcome")).isEqualTo("ABORTED");
        await().atMost(Duration.ofSeconds(10)).until(() -> "ABORTED".equals(api.state(other)));
        assertThat(orders.committed(other)).isFalse();
    }

    @Test
    void phaseTwoRetriesUntilTheParticipantAnswers() {
        String txid = api.begin(30_000);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        api.registerActive(txid, "billing:1", "billing-db", billing.callbackUrl());
        billing.failNextPhaseTwoCalls(3);
        assertThat(api.commit(txid).field("outcome")).isEqualTo("COMMITTED");
        await().atMost(Duration.ofSeconds(15)).until(() -> "COMMITTED".equals(api.state(txid)));
        assertThat(billing.state(txid, "billing:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(kinds(billing, txid).stream().filter("commit"::equals).count()).isEqualTo(4);
        var branch = api.get("/api/v1/transactions/" + txid).json().get("branches").get(1);
        assertThat(branch.get("attempts").asInt()).isEqualTo(3);
    }

    @Test
    void aTransactionPastItsDeadlineIsAbortedOnItsOwn() {
        String txid = api.begin(300);
        api.registerActive(txid, "orders:1", "orders-db", orders.callbackUrl());
        await().atMost(Duration.ofSeconds(10)).until(() -> "ABORTED".equals(api.state(txid)));
        assertThat(api.commit(txid).field("outcome")).isEqualTo("ABORTED");
        assertThat(kinds(orders, txid)).containsExactly("rollback");
    }

    @Test
    void aBatchOfCompletionReportsAppliesEveryValidOneAndListsTheRest() {
        String txid = api.begin(30_000);
        orders.begin(txid, "orders:1");
        markPrepared(orders, txid, "orders:1");
        String inline = "{\"branches\":[{\"branchId\":\"orders:1\",\"resource\":\"orders-db\",\"state\":\"PREPARED\","
                + "\"callbackUrl\":\"http://127.0.0.1:1/gone\"},{\"branchId\":\"billing:1\",\"resource\":\"billing-db\","
                + "\"state\":\"PREPARED\",\"callbackUrl\":\"http://127.0.0.1:1/gone\"}]}";
        assertThat(api.post("/api/v1/transactions/" + txid + "/commit", inline).field("outcome")).isEqualTo("COMMITTED");
        String batch = "[{\"txid\":\"" + txid + "\",\"branchId\":\"nope:9\",\"outcome\":\"COMMITTED\"},"
                + "{\"txid\":\"" + txid + "\",\"branchId\":\"orders:1\",\"outcome\":\"COMMITTED\"},"
                + "{\"txid\":\"" + txid + "\",\"branchId\":\"billing:1\",\"outcome\":\"COMMITTED\"}]";
        ApiClient.Response r = api.post("/api/v1/completions", batch);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("rejected")).hasSize(1);
        assertThat(r.body()).contains("nope:9");
        await().atMost(Duration.ofSeconds(10)).until(() -> "COMMITTED".equals(api.state(txid)));
    }

    @Test
    void listingAndClusterAnswer() {
        String txid = api.begin(30_000);
        ApiClient.Response page = api.get("/api/v1/transactions?state=ACTIVE&limit=500");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body()).contains(txid);
        ApiClient.Response cluster = api.get("/api/v1/cluster");
        assertThat(cluster.field("role")).isEqualTo("SINGLE");
        assertThat(cluster.field("clusterId")).isEqualTo("t1");
        assertThat(cluster.json().get("epoch").asLong()).isPositive();
    }
}
