package dev.pledge.sdk.jta;

import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.StandInCoordinator;
import dev.pledge.sdk.StandInCoordinator.Answer;
import dev.pledge.sdk.StandInCoordinator.Request;
import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.xa.PledgeXid;
import jakarta.transaction.RollbackException;
import jakarta.transaction.Status;
import jakarta.transaction.Synchronization;
import jakarta.transaction.Transaction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import javax.sql.XAConnection;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The JTA implementation on real H2 XA connections; the coordinator is a scripted stand-in. */
class PledgeTransactionManagerTest {
    static final String ORDERS = "tm-orders";
    static final String BILLING = "tm-billing";
    static StandInCoordinator coordinator;

    PledgeTransactionManager tm;
    final List<XAConnection> connections = new ArrayList<>();

    @BeforeAll
    static void startAll() throws Exception {
        coordinator = new StandInCoordinator();
        H2Databases.create(ORDERS);
        H2Databases.create(BILLING);
    }

    @AfterAll
    static void stopAll() {
        coordinator.close();
    }

    @BeforeEach
    void start() {
        coordinator.reset();
        CoordinatorClient client = CoordinatorClient.builder().url(coordinator.url()).token("t")
                .initialBackoff(Duration.ofMillis(10)).maxBackoff(Duration.ofMillis(50))
                .maxRetryTime(Duration.ofMillis(300)).build();
        tm = new PledgeTransactionManager(client, PledgeTransactionManager.Settings.defaults()
                .withInstanceId("app-1").withOutcomeWait(Duration.ofSeconds(1)));
    }

    @AfterEach
    void stop() throws Exception {
        tm.close();
        for (XAConnection c : connections) {
            c.close();
        }
    }

    private XAConnection open(String db) throws Exception {
        XAConnection xa = H2Databases.xaConnection(db);
        connections.add(xa);
        return xa;
    }

    private static String id() {
        return UUID.randomUUID().toString();
    }

    @Test
    void commitsTwoBranchesWithOneDecisionRequestAndFinishesThemHere() throws Exception {
        XAConnection orders = open(ORDERS);
        XAConnection billing = open(BILLING);
        String row = id();

        tm.begin();
        String txid = tm.getTransaction().txid();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        tm.getTransaction().enlistResource(new NamedXAResource("billing-db", billing.getXAResource()));
        H2Databases.insert(orders, row);
        H2Databases.insert(billing, row);
        tm.commit();

        assertThat(tm.getStatus()).isEqualTo(Status.STATUS_NO_TRANSACTION);
        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
        assertThat(H2Databases.exists(BILLING, row)).isTrue();
        List<Request> commits = coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit");
        assertThat(commits).hasSize(1);
        JsonNode branches = commits.get(0).json().get("branches");
        assertThat(branches).hasSize(2);
        assertThat(branches.get(0).get("branchId").asString()).isEqualTo("orders-db:app-1:1");
        assertThat(branches.get(0).get("resource").asString()).isEqualTo("orders-db");
        assertThat(branches.get(0).get("state").asString()).isEqualTo("PREPARED");
        assertThat(branches.get(0).has("callbackUrl")).isFalse();
        assertThat(branches.get(1).get("branchId").asString()).isEqualTo("billing-db:app-1:2");
        await().atMost(Duration.ofSeconds(5)).until(() -> coordinator.requests("POST", "/api/v1/completions").stream()
                .mapToInt(r -> r.json().size()).sum() == 2);
        assertThat(H2Databases.recover(ORDERS)).isEmpty();
    }

    @Test
    void oneBranchCommitsInOnePhaseAndTheCoordinatorIsOnlyTold() throws Exception {
        XAConnection orders = open(ORDERS);
        String row = id();

        tm.begin();
        String txid = tm.getTransaction().txid();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        H2Databases.insert(orders, row);
        tm.commit();

        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() ->
                coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit").size() == 1);
        assertThat(coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit").get(0).json()
                .get("branches")).isEmpty();
    }

    /** Remote branches may exist once the txid went out: the coordinator decides, before commit returns. */
    @Test
    void aPropagatedTransactionIsDecidedByTheCoordinatorEvenWithNoOrOneLocalBranch() throws Exception {
        tm.begin();
        String remoteOnly = tm.getTransaction().txid();
        tm.getTransaction().markPropagated();
        coordinator.next("POST", ".*/commit", Answer.json(200, "{\"txid\":\"x\",\"outcome\":\"ABORTED\","
                + "\"reason\":\"branch billing-db:b:j1 voted ABORT\"}"));
        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class).hasMessageContaining("voted ABORT");
        assertThat(coordinator.requests("POST", "/api/v1/transactions/" + remoteOnly + "/commit")).hasSize(1);

        XAConnection orders = open(ORDERS);
        String row = id();
        tm.begin();
        String txid = tm.getTransaction().txid();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        H2Databases.insert(orders, row);
        tm.getTransaction().markPropagated();
        tm.commit();

        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
        List<Request> commits = coordinator.requests("POST", "/api/v1/transactions/" + txid + "/commit");
        assertThat(commits).hasSize(1);
        JsonNode inline = commits.get(0).json().get("branches");
        assertThat(inline).hasSize(1); // prepared here first, not committed in one phase
        assertThat(inline.get(0).get("state").asString()).isEqualTo("PREPARED");
    }

    @Test
    void anAbortDecisionRollsBackThePreparedBranches() throws Exception {
        coordinator.next("POST", ".*/commit", Answer.json(200, "{\"txid\":\"x\",\"outcome\":\"ABORTED\",\"reason\":\"deadline passed\"}"));
        XAConnection orders = open(ORDERS);
        XAConnection billing = open(BILLING);
        String row = id();

        tm.begin();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        tm.getTransaction().enlistResource(new NamedXAResource("billing-db", billing.getXAResource()));
        H2Databases.insert(orders, row);
        H2Databases.insert(billing, row);

        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class).hasMessageContaining("deadline passed");
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();
        assertThat(H2Databases.exists(BILLING, row)).isFalse();
        assertThat(H2Databases.recover(ORDERS)).isEmpty();
        assertThat(H2Databases.recover(BILLING)).isEmpty();
    }

    @Test
    void aFailedPrepareRollsBackEveryBranchAndTheTransaction() throws Exception {
        XAConnection orders = open(ORDERS);
        XAConnection billing = open(BILLING);
        String row = id();

        tm.begin();
        String txid = tm.getTransaction().txid();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        tm.getTransaction().enlistResource(new NamedXAResource("billing-db", new VetoingPrepare(billing.getXAResource())));
        H2Databases.insert(orders, row);
        H2Databases.insert(billing, row);

        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class)
                .hasMessageContaining(txid).hasMessageContaining("billing-db").hasMessageContaining("XA_RBINTEGRITY");
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();
        assertThat(H2Databases.recover(ORDERS)).isEmpty();
        assertThat(coordinator.requests("POST", ".*/commit")).isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() ->
                coordinator.requests("POST", "/api/v1/transactions/" + txid + "/rollback").size() == 1);
    }

    /** Safety rule S8. */
    @Test
    void anUnknownOutcomeLeavesTheBranchesPreparedAndNamesTheTxid() throws Exception {
        coordinator.always("POST", ".*/commit", r -> Answer.outcomeUnknown(StandInCoordinator.txidOf(r.path())));
        XAConnection orders = open(ORDERS);
        XAConnection billing = open(BILLING);
        String row = id();

        tm.begin();
        String txid = tm.getTransaction().txid();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        tm.getTransaction().enlistResource(new NamedXAResource("billing-db", billing.getXAResource()));
        H2Databases.insert(orders, row);
        H2Databases.insert(billing, row);

        assertThatThrownBy(tm::commit).isInstanceOfSatisfying(TransactionInDoubtException.class, e -> {
            assertThat(e.txid()).isEqualTo(txid);
            assertThat(e.getMessage()).contains(txid).contains("left prepared").contains("coordinator will finish");
            assertThat(e.preparedBranches()).containsExactly("orders-db:app-1:1", "billing-db:app-1:2");
        });
        assertThat(coordinator.requests("POST", ".*/commit").size()).isGreaterThan(2); // asked again and again
        assertThat(coordinator.requests("POST", ".*/rollback")).isEmpty();

        // Still prepared in both databases (the preparing connections are open: H2 keeps branches only that long).
        List<PledgeXid> inOrders = H2Databases.recover(ORDERS);
        List<PledgeXid> inBilling = H2Databases.recover(BILLING);
        assertThat(inOrders).extracting(PledgeXid::txid).containsExactly(txid);
        assertThat(inBilling).extracting(PledgeXid::branchId).containsExactly("billing-db:app-1:2");
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();

        // What the coordinator does next through XA bridging once it knows the decision: the pledge holds.
        H2Databases.commitPrepared(ORDERS, inOrders.get(0));
        H2Databases.commitPrepared(BILLING, inBilling.get(0));
        assertThat(H2Databases.exists(ORDERS, row)).isTrue();
        assertThat(H2Databases.exists(BILLING, row)).isTrue();
    }

    @Test
    void aRefusedCommitIsResolvedByAskingForRollback() throws Exception {
        coordinator.next("POST", ".*/commit", Answer.problem(422, "unknown-resource",
                "resource 'billing-db' is unknown here", null, java.util.Map.of()));
        XAConnection orders = open(ORDERS);
        XAConnection billing = open(BILLING);
        String row = id();

        tm.begin();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        tm.getTransaction().enlistResource(new NamedXAResource("billing-db", billing.getXAResource()));
        H2Databases.insert(orders, row);
        H2Databases.insert(billing, row);

        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class).hasMessageContaining("billing-db' is unknown");
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();
        assertThat(H2Databases.recover(BILLING)).isEmpty();
    }

    @Test
    void rollbackOnlyAndTimeoutRollBack() throws Exception {
        XAConnection orders = open(ORDERS);
        String row = id();
        tm.begin();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        H2Databases.insert(orders, row);
        tm.setRollbackOnly();
        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class).hasMessageContaining("setRollbackOnly");
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();

        tm.setTransactionTimeout(1);
        tm.begin();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        H2Databases.insert(orders, row);
        Thread.sleep(1100);
        assertThatThrownBy(tm::commit).isInstanceOf(RollbackException.class).hasMessageContaining("timed out");
        assertThat(H2Databases.exists(ORDERS, row)).isFalse();
        assertThat(coordinator.requests("POST", "/api/v1/transactions").get(1).json().get("timeoutMs").asLong())
                .isEqualTo(1000);
    }

    @Test
    void synchronizationsRunAroundCompletionInJtaOrder() throws Exception {
        List<String> calls = new ArrayList<>();
        tm.begin();
        tm.getTransaction().registerSynchronization(new Recording("regular", calls));
        tm.synchronizationRegistry().registerInterposedSynchronization(new Recording("interposed", calls));
        tm.synchronizationRegistry().putResource("k", "v");
        assertThat(tm.synchronizationRegistry().getResource("k")).isEqualTo("v");
        tm.commit();

        assertThat(calls).containsExactly("regular.before", "interposed.before",
                "interposed.after:" + Status.STATUS_COMMITTED, "regular.after:" + Status.STATUS_COMMITTED);
    }

    @Test
    void suspendAndResumeKeepTransactionsApart() throws Exception {
        XAConnection orders = open(ORDERS);
        XAConnection billing = open(BILLING);
        String outer = id();
        String inner = id();

        tm.begin();
        tm.getTransaction().enlistResource(new NamedXAResource("orders-db", orders.getXAResource()));
        H2Databases.insert(orders, outer);
        Transaction suspended = tm.suspend();
        assertThat(tm.getStatus()).isEqualTo(Status.STATUS_NO_TRANSACTION);

        tm.begin();
        tm.getTransaction().enlistResource(new NamedXAResource("billing-db", billing.getXAResource()));
        H2Databases.insert(billing, inner);
        tm.commit();
        assertThat(H2Databases.exists(BILLING, inner)).isTrue();
        assertThat(H2Databases.exists(ORDERS, outer)).isFalse();

        tm.resume(suspended);
        tm.rollback();
        assertThat(H2Databases.exists(ORDERS, outer)).isFalse();
    }

    @Test
    void anUnnamedResourceIsRefusedWithAMessageThatSaysWhatToDo() throws Exception {
        XAConnection orders = open(ORDERS);
        tm.begin();
        assertThatThrownBy(() -> tm.getTransaction().enlistResource(orders.getXAResource()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no Pledge resource name").hasMessageContaining("NamedXAResource");
        tm.rollback();
    }

    /** A fault at a named point: the resource votes no. */
    static final class VetoingPrepare extends dev.pledge.xa.ForwardingXAResource {
        VetoingPrepare(XAResource real) {
            super(real);
        }

        @Override
        public int prepare(Xid xid) throws XAException {
            throw new XAException(XAException.XA_RBINTEGRITY);
        }
    }

    record Recording(String name, List<String> calls) implements Synchronization {
        @Override
        public void beforeCompletion() {
            calls.add(name + ".before");
        }

        @Override
        public void afterCompletion(int status) {
            calls.add(name + ".after:" + status);
        }
    }
}
