package dev.pledge.samples.twoservices;

import dev.pledge.samples.support.Databases;
import dev.pledge.samples.support.SampleCoordinator;
import dev.pledge.samples.twoservices.orders.OrderService;
import dev.pledge.samples.twoservices.orders.OrdersApplication;
import dev.pledge.samples.twoservices.payments.PaymentsApplication;
import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.testkit.FreePort;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.TransactionException;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.RestClient;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The two-services sample end to end: one embedded PostgreSQL server with the databases {@code orders} and
 * {@code payments}, the real coordinator jar in its own JVM (it can reach both databases: resources
 * {@code orders} and {@code payments}), and both services in this JVM, each on its own port. Every test goes
 * through HTTP where a client would, and checks the databases with plain SQL and the transaction at the
 * coordinator ({@code GET /api/v1/transactions/{txid}}); none ends with a prepared transaction or a parked
 * (idle in transaction) session left.
 *
 * <p>The payments database has {@code lock_timeout = 3s}: if the second payment call of an order ran in a
 * second branch, it would wait for the row lock the first call's parked branch holds, and fail after 3 s
 * instead of hanging until the deadline.
 */
class TwoServicesIT {
    private static final long BALANCE = 100_000;

    @TempDir
    static Path tmp;

    static EmbeddedPostgresServer pg;
    static CoordinatorProcess coordinator;
    static ApiClient coordinatorApi;
    static String ordersDb;
    static String paymentsDb;
    static ConfigurableApplicationContext payments;
    static ConfigurableApplicationContext orders;
    static ApiClient ordersApi;
    static String paymentsUrl;
    static String paymentsCallbackUrl;

    @BeforeAll
    static void start() throws Exception {
        pg = EmbeddedPostgresServer.start();
        Databases.create(pg, "orders", "payments");
        pg.execute("ALTER DATABASE payments SET lock_timeout = '3s'");
        ordersDb = Databases.url(pg, "orders");
        paymentsDb = Databases.url(pg, "payments");
        coordinator = SampleCoordinator.configure()
                .resource("orders", "postgresql", ordersDb, EmbeddedPostgresServer.USER)
                .resource("payments", "postgresql", paymentsDb, EmbeddedPostgresServer.USER)
                .start(tmp.resolve("coordinator"));
        coordinatorApi = SampleCoordinator.api(coordinator);

        int paymentsPort = FreePort.find();
        paymentsUrl = "http://127.0.0.1:" + paymentsPort;
        paymentsCallbackUrl = paymentsUrl + "/pledge/participant";
        payments = PaymentsApplication.builder().run(args(paymentsPort,
                "--pledge.participant.callback-url=" + paymentsCallbackUrl,
                "--pledge.datasources.payments.url=" + paymentsDb,
                "--pledge.datasources.payments.user=" + EmbeddedPostgresServer.USER));
        int ordersPort = FreePort.find();
        orders = OrdersApplication.builder().run(args(ordersPort,
                "--pledge.participant.callback-url=http://127.0.0.1:" + ordersPort + "/pledge/participant",
                "--orders.payments-url=" + paymentsUrl,
                "--pledge.datasources.orders.url=" + ordersDb,
                "--pledge.datasources.orders.user=" + EmbeddedPostgresServer.USER));
        ordersApi = new ApiClient("http://127.0.0.1:" + ordersPort, null);
    }

    private static String[] args(int port, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "--server.address=127.0.0.1", "--server.port=" + port,
                "--pledge.coordinator.url=" + coordinator.baseUrl(),
                "--pledge.coordinator.token=" + SampleCoordinator.TOKEN,
                "--spring.main.banner-mode=off", "--logging.level.root=WARN"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (pg != null) {
                for (String db : new String[]{ordersDb, paymentsDb}) {
                    assertThat(Databases.queryLong(db, "SELECT count(*) FROM pg_prepared_xacts"
                            + " WHERE database = current_database()")).as("prepared in " + db).isZero();
                }
            }
        } finally {
            for (AutoCloseable c : new AutoCloseable[]{orders, payments, coordinator, pg}) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    @BeforeEach
    void freshData() {
        Databases.update(ordersDb, "TRUNCATE orders");
        Databases.update(paymentsDb, "TRUNCATE payment");
        Databases.update(paymentsDb, "UPDATE wallet SET balance = ?, reserved = 0", BALANCE);
    }

    @AfterEach
    void nothingPreparedOrParkedLeft() {
        await().atMost(Duration.ofSeconds(30)).until(() -> Databases.preparedTransactions(pg) == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> idleInTransaction(paymentsDb) == 0);
    }

    @Test
    void anOrderAndBothPaymentCallsCommitTogetherInOnePaymentsBranch() {
        UUID id = UUID.randomUUID();
        ApiClient.Response r = placeOrder(id, "alice", 2_500, false, false);

        assertThat(r.status()).as(r.body()).isEqualTo(201);
        JsonNode placed = r.json();
        String txid = placed.get("txid").asString();
        // both calls ran on one PostgreSQL backend in one database transaction: one parked branch, re-joined
        assertThat(placed.get("confirm").get("session")).isEqualTo(placed.get("reserve").get("session"));

        assertThat(Databases.column(ordersDb, "SELECT txid FROM orders WHERE id = ?", id)).containsExactly(txid);
        assertThat(Databases.column(paymentsDb, "SELECT status || '/' || calls FROM payment WHERE order_id = ?", id))
                .containsExactly("CONFIRMED/2");
        assertThat(wallet("alice")).isEqualTo("97500/0");

        JsonNode tx = awaitFinished(txid, "COMMITTED");
        assertThat(tx.get("branches")).hasSize(2);
        JsonNode paymentsBranch = onlyBranchOf(tx, "payments");
        assertThat(paymentsBranch.get("callbackUrl").asString()).isEqualTo(paymentsCallbackUrl);
        assertThat(paymentsBranch.get("branchId").asString()).startsWith("payments:payments:j");
        // orders' own branch was prepared early and reported inline with the commit: no callback
        JsonNode ordersCallback = onlyBranchOf(tx, "orders").get("callbackUrl");
        assertThat(ordersCallback == null || ordersCallback.isNull()).as("orders' callbackUrl %s", ordersCallback).isTrue();
    }

    @Test
    void thePaymentsBranchIsRegisteredActiveWithItsCallbackUrlAndPreparedOnlyAtTheCommit() {
        // The test holds the global transaction open around the same @Transactional method, to look at
        // the coordinator and the payments database between the calls and the commit.
        TransactionTemplate tx = new TransactionTemplate(orders.getBean(PlatformTransactionManager.class));
        UUID id = UUID.randomUUID();
        String[] activeBranchId = new String[1];
        OrderService.PlacedOrder placed = tx.execute(status -> {
            OrderService.PlacedOrder p = orders.getBean(OrderService.class).place(
                    new OrderService.OrderRequest(id, "bob", 1_000, false, false));
            JsonNode open = coordinatorApi.get("/api/v1/transactions/" + p.txid()).json();
            assertThat(open.get("state").asString()).isEqualTo("ACTIVE");
            assertThat(open.get("branches")).hasSize(1); // orders' own branch is reported only with the commit
            JsonNode branch = onlyBranchOf(open, "payments");
            assertThat(branch.get("state").asString()).isEqualTo("ACTIVE");
            assertThat(branch.get("callbackUrl").asString()).isEqualTo(paymentsCallbackUrl);
            activeBranchId[0] = branch.get("branchId").asString();
            // parked: one session holds both calls' work, idle in transaction, nothing prepared or visible yet
            assertThat(idleInTransaction(paymentsDb)).isEqualTo(1);
            assertThat(Databases.preparedTransactions(pg)).isZero();
            assertThat(Databases.queryLong(paymentsDb, "SELECT count(*) FROM payment WHERE order_id = ?", id)).isZero();
            return p;
        });

        assertThat(placed.confirm().session()).isEqualTo(placed.reserve().session());
        JsonNode done = awaitFinished(placed.txid(), "COMMITTED");
        assertThat(onlyBranchOf(done, "payments").get("branchId").asString()).isEqualTo(activeBranchId[0]);
        assertThat(Databases.queryLong(ordersDb, "SELECT count(*) FROM orders WHERE id = ?", id)).isEqualTo(1);
        assertThat(Databases.column(paymentsDb, "SELECT status || '/' || calls FROM payment WHERE order_id = ?", id))
                .containsExactly("CONFIRMED/2");
        assertThat(wallet("bob")).isEqualTo("99000/0");
    }

    @Test
    void anOrderFailingAfterThePaymentCallsRollsBackBothServices() {
        UUID id = UUID.randomUUID();
        ApiClient.Response r = placeOrder(id, "alice", 4_000, true, false);

        assertThat(r.status()).as(r.body()).isEqualTo(422);
        String txid = r.json().get("txid").asString();
        assertNothingOf(id);
        JsonNode tx = awaitFinished(txid, "ABORTED");
        assertThat(onlyBranchOf(tx, "payments").get("state").asString()).isEqualTo("ROLLED_BACK");
    }

    @Test
    void aFailureInPaymentsRollsBackBothServices() {
        UUID id = UUID.randomUUID();
        // payments does the confirmation's updates, then refuses: its first call's work goes too
        ApiClient.Response r = placeOrder(id, "alice", 4_000, false, true);

        assertThat(r.status()).as(r.body()).isEqualTo(502);
        assertThat(r.json().get("detail").asString()).contains("card declined");
        String txid = r.json().get("txid").asString();
        assertNothingOf(id);
        awaitFinished(txid, "ABORTED");
    }

    @Test
    void aTransactionWhoseOnlyWorkIsInPaymentsCommitsThroughTheCallback() {
        // No local write in the caller: its commit still asks the coordinator (the txid went out), which
        // holds one ACTIVE branch and commits it through payments' callback (in one phase: sdk.md section 5).
        UUID id = UUID.randomUUID();
        RestClient http = orders.getBean(RestClient.Builder.class).baseUrl(paymentsUrl).build();
        String txid = new TransactionTemplate(orders.getBean(PlatformTransactionManager.class)).execute(status -> {
            http.post().uri("/payments/reserve").contentType(MediaType.APPLICATION_JSON)
                    .body(Map.of("orderId", id, "customer", "bob", "amountCents", 700)).retrieve().toBodilessEntity();
            http.post().uri("/payments/confirm").contentType(MediaType.APPLICATION_JSON)
                    .body(Map.of("orderId", id, "customer", "bob", "amountCents", 700)).retrieve().toBodilessEntity();
            return orders.getBean(PledgeTransactionManager.class).getTransaction().txid();
        });

        JsonNode tx = awaitFinished(txid, "COMMITTED");
        assertThat(tx.get("branches")).hasSize(1);
        assertThat(onlyBranchOf(tx, "payments").get("callbackUrl").asString()).isEqualTo(paymentsCallbackUrl);
        assertThat(Databases.column(paymentsDb, "SELECT status || '/' || calls FROM payment WHERE order_id = ?", id))
                .containsExactly("CONFIRMED/2");
        assertThat(wallet("bob")).isEqualTo("99300/0");
    }

    @Test
    void aCallerThatIgnoresTheFailureInPaymentsCannotCommit() {
        // The caller writes its order, swallows payments' refusal and commits anyway: payments' part was
        // rolled back and the transaction aborted at the coordinator, so the commit fails and nothing stays.
        UUID id = UUID.randomUUID();
        RestClient http = orders.getBean(RestClient.Builder.class).baseUrl(paymentsUrl).build();
        String[] txid = new String[1];
        assertThatThrownBy(() -> new TransactionTemplate(orders.getBean(PlatformTransactionManager.class))
                .executeWithoutResult(status -> {
                    txid[0] = orders.getBean(PledgeTransactionManager.class).getTransaction().txid();
                    orders.getBean(JdbcTemplate.class).update(
                            "INSERT INTO orders (id, customer, amount_cents, txid) VALUES (?, 'alice', 900, ?)", id, txid[0]);
                    http.post().uri("/payments/reserve").contentType(MediaType.APPLICATION_JSON)
                            .body(Map.of("orderId", id, "customer", "alice", "amountCents", 900)).retrieve()
                            .toBodilessEntity();
                    assertThatThrownBy(() -> http.post().uri("/payments/confirm").contentType(MediaType.APPLICATION_JSON)
                            .body(Map.of("orderId", id, "customer", "alice", "amountCents", 900, "fail", true))
                            .retrieve().toBodilessEntity())
                            .isInstanceOf(HttpClientErrorException.class);
                })).isInstanceOf(TransactionException.class);

        assertNothingOf(id);
        awaitFinished(txid[0], "ABORTED");
    }

    // ------------------------------------------------------------------ helpers

    /** {@code POST /orders} as a client sends it; the failure flags only when set. */
    private static ApiClient.Response placeOrder(UUID id, String customer, long cents, boolean failAfterPayment,
                                                 boolean failPayment) {
        return ordersApi.post("/orders", "{\"orderId\":\"" + id + "\",\"customer\":\"" + customer
                + "\",\"amountCents\":" + cents + (failAfterPayment ? ",\"failAfterPayment\":true" : "")
                + (failPayment ? ",\"failPayment\":true" : "") + "}");
    }

    /** No order row, no payment row, the wallet untouched -- and the parked connection given back at once. */
    private static void assertNothingOf(UUID id) {
        assertThat(Databases.queryLong(ordersDb, "SELECT count(*) FROM orders WHERE id = ?", id)).isZero();
        assertThat(Databases.queryLong(paymentsDb, "SELECT count(*) FROM payment WHERE order_id = ?", id)).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> idleInTransaction(paymentsDb) == 0);
        assertThat(wallet("alice")).isEqualTo(BALANCE + "/0");
    }

    private static String wallet(String customer) {
        return String.valueOf(Databases.column(paymentsDb, "SELECT balance || '/' || reserved FROM wallet WHERE customer = ?",
                customer).get(0));
    }

    /** Sessions of the database that hold an open transaction between statements: parked branches. */
    private static long idleInTransaction(String db) {
        return Databases.queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND state = 'idle in transaction'");
    }

    /** The transaction at the coordinator once it is in {@code state} with every branch finished. */
    private static JsonNode awaitFinished(String txid, String state) {
        String branchState = "COMMITTED".equals(state) ? "COMMITTED" : "ROLLED_BACK";
        JsonNode[] last = new JsonNode[1];
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                last[0] = coordinatorApi.get("/api/v1/transactions/" + txid).json();
                if (!state.equals(last[0].get("state").asString())) {
                    return false;
                }
                for (JsonNode b : last[0].get("branches")) {
                    if (!branchState.equals(b.get("state").asString())) {
                        return false;
                    }
                }
                return true;
            });
        } catch (RuntimeException e) {
            throw new AssertionError("transaction " + txid + " did not finish " + state + ": " + last[0], e);
        }
        return last[0];
    }

    /** The one branch of {@code resource}; fails if there are none or several. */
    private static JsonNode onlyBranchOf(JsonNode tx, String resource) {
        List<JsonNode> found = new ArrayList<>();
        for (JsonNode b : tx.get("branches")) {
            if (resource.equals(b.get("resource").asString())) {
                found.add(b);
            }
        }
        assertThat(found).as("branches of %s in %s", resource, tx).hasSize(1);
        return found.get(0);
    }
}
