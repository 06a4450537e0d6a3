package dev.pledge.sdk.web;

import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.sdk.DrivingCoordinator;
import dev.pledge.sdk.DrivingCoordinator.Callback;
import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import jakarta.servlet.http.HttpServletRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.UnexpectedRollbackException;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;

import javax.sql.DataSource;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

/**
 * Propagation between services (DESIGN.md §7) with real Spring Boot web applications on random ports, real
 * H2 XA databases and a coordinator that drives the participant callbacks like the real one
 * ({@link DrivingCoordinator}): "orders" begins transactions and calls "billing" (parked branches, the default)
 * and "billing-early" (early prepare) through Boot's {@code RestClient}. Billing's pool has one connection, so
 * a connection that was not released, or a second one taken for the same transaction, shows as a failure.
 */
class PropagationTest {
    static final String CALLBACK_TOKEN = "callback-secret";
    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    static DrivingCoordinator coordinator;
    static ConfigurableApplicationContext billing;
    static ConfigurableApplicationContext billingEarly;
    static ConfigurableApplicationContext orders;
    static String billingUrl;
    static String billingEarlyUrl;

    /** What billing saw: the Pledge-Txid of each request, and the H2 session each charge used. */
    static final List<String> seenTxids = new CopyOnWriteArrayList<>();
    static final Map<String, List<Integer>> sessionsByTxid = new ConcurrentHashMap<>();

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    @Import({ChargeController.class, ChargeService.class})
    static class BillingApp {
    }

    @RestController
    static class ChargeController {
        private final ChargeService service;

        ChargeController(ChargeService service) {
            this.service = service;
        }

        @PostMapping("/charges/{id}")
        public String charge(@PathVariable String id, @RequestParam(defaultValue = "false") boolean fail,
                             HttpServletRequest request) {
            String txid = request.getHeader(PledgeHeaders.TXID);
            seenTxids.add(String.valueOf(txid));
            int session = service.charge(id, fail);
            sessionsByTxid.computeIfAbsent(String.valueOf(txid), k -> new CopyOnWriteArrayList<>()).add(session);
            return "charged " + id;
        }
    }

    @Service
    static class ChargeService {
        private final JdbcTemplate db;

        ChargeService(JdbcTemplate db) {
            this.db = db;
        }

        /** Returns the H2 session id: the same number means the same physical connection. */
        @Transactional
        public int charge(String id, boolean fail) {
            db.update("INSERT INTO entries(id, note) VALUES (?, 'charge')", id);
            if (fail) {
                throw new IllegalStateException("card declined");
            }
            Integer session = db.queryForObject("SELECT SESSION_ID()", Integer.class);
            return session == null ? -1 : session;
        }
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    @Import(OrderService.class)
    static class OrdersApp {
    }

    @Service
    static class OrderService {
        private final JdbcTemplate db;
        private final RestClient http;
        private final PledgeTransactionManager tm;
        private volatile String lastTxid;

        OrderService(JdbcTemplate db, RestClient.Builder http, PledgeTransactionManager tm) {
            this.db = db;
            this.http = http.build();
            this.tm = tm;
        }

        /**
         * Writes the order here (unless {@code writeLocal} is false), then charges {@code charges} times at
         * {@code billingBase}. {@code swallowRemoteFailure}: a failed call is ignored and the method goes on to commit.
         */
        /** The txid of the last order (a method: the bean is a proxy). */
        public String lastTxid() {
            return lastTxid;
        }

        @Transactional
        public void order(String id, boolean writeLocal, String billingBase, int charges, boolean failRemote,
                          boolean swallowRemoteFailure, boolean failHere) {
            lastTxid = tm.getTransaction().txid();
            if (writeLocal) {
                db.update("INSERT INTO entries(id, note) VALUES (?, 'order')", id);
            }
            for (int i = 1; i <= charges; i++) {
                try {
                    http.post().uri(billingBase + "/charges/{id}?fail={fail}", id + "-" + i, failRemote)
                            .retrieve().toBodilessEntity();
                } catch (RestClientException e) {
                    if (!swallowRemoteFailure) {
                        throw e;
                    }
                }
            }
            if (failHere) {
                throw new IllegalStateException("out of stock");
            }
        }
    }

    @BeforeAll
    static void start() throws Exception {
        coordinator = new DrivingCoordinator(CALLBACK_TOKEN, Set.of("orders-db", "billing-db", "billing-early-db"));
        H2Databases.create("prop-orders");
        H2Databases.create("prop-billing");
        H2Databases.create("prop-billing-early");
        billing = start(BillingApp.class, "billing", "billing-db", "prop-billing",
                "pledge.participant.join-mode=parked");
        billingEarly = start(BillingApp.class, "billing-early", "billing-early-db", "prop-billing-early",
                "pledge.participant.join-mode=early-prepare");
        orders = start(OrdersApp.class, "orders", "orders-db", "prop-orders");
        billingUrl = "http://127.0.0.1:" + billing.getEnvironment().getProperty("local.server.port");
        billingEarlyUrl = "http://127.0.0.1:" + billingEarly.getEnvironment().getProperty("local.server.port");
        for (String url : new String[]{billingUrl, billingEarlyUrl}) { // warm up: the first request initializes MVC
            CLIENT.send(HttpRequest.newBuilder(URI.create(url + "/warm-up")).build(), HttpResponse.BodyHandlers.discarding());
        }
    }

    private static ConfigurableApplicationContext start(Class<?> app, String instance, String resource, String database,
                                                        String... more) {
        return new SpringApplicationBuilder(app).properties(
                "spring.main.banner-mode=off",
                "logging.level.root=WARN",
                "logging.level.dev.pledge=INFO",
                "server.address=127.0.0.1",
                "server.port=0",
                "pledge.coordinator.url=" + coordinator.url(),
                "pledge.coordinator.token=sdk-token",
                "pledge.coordinator.max-retry-time=2s",
                "pledge.participant.callback-token=" + CALLBACK_TOKEN,
                "pledge.participant.instance-id=" + instance,
                "pledge.datasources." + resource + ".url=" + H2Databases.url(database),
                "pledge.datasources." + resource + ".user=sa",
                "pledge.datasources." + resource + ".max-size=1",
                "pledge.datasources." + resource + ".acquisition-timeout=2s")
                .properties(more)
                .run();
    }

    @AfterAll
    static void stop() {
        for (ConfigurableApplicationContext c : new ConfigurableApplicationContext[]{orders, billing, billingEarly}) {
            if (c != null) {
                c.close();
            }
        }
        if (coordinator != null) {
            coordinator.close();
        }
    }

    private static OrderService service() {
        return orders.getBean(OrderService.class);
    }

    private static JoinedTransactions joined(ConfigurableApplicationContext app) {
        return app.getBean(JoinedTransactions.class);
    }

    /** The one pooled connection of an app's database is free: it can be taken at once (pool size 1, 2 s wait). */
    private static void assertConnectionFree(ConfigurableApplicationContext app) throws Exception {
        try (Connection c = app.getBean(DataSource.class).getConnection()) {
            assertThat(c.isValid(1)).isTrue();
        }
    }

    private static void awaitReleased(ConfigurableApplicationContext app) {
        await().atMost(Duration.ofSeconds(10)).until(() -> joined(app).joinedCount() == 0
                && joined(app).heldBranchCount() == 0);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void aCallCarriesTheTxidAndTheCalledServiceRegistersAnActiveBranchWithItsCallbackUrl() throws Exception {
        String id = UUID.randomUUID().toString();
        service().order(id, true, billingUrl, 1, false, false, false);
        String txid = service().lastTxid();

        assertThat(seenTxids).contains(txid);
        List<BranchRegistration> registered = coordinator.registrations(txid);
        assertThat(registered).anySatisfy(b -> {
            assertThat(b.resource()).isEqualTo("billing-db");
            assertThat(b.state()).isEqualTo(BranchState.ACTIVE);
            assertThat(b.branchId()).startsWith("billing-db:billing:j");
            assertThat(b.callbackUrl()).isEqualTo(billingUrl + "/pledge/participant");
        });
        // The originator's own branch was prepared early and reported inline, without a callback.
        assertThat(registered).anySatisfy(b -> {
            assertThat(b.resource()).isEqualTo("orders-db");
            assertThat(b.state()).isEqualTo(BranchState.PREPARED);
            assertThat(b.callbackUrl()).isNull();
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> H2Databases.exists("prop-billing", id + "-1"));
        assertThat(H2Databases.exists("prop-orders", id)).isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(coordinator.callbacks(txid))
                .extracting(Callback::operation, Callback::answer)
                .containsExactly(tuple("prepare", "COMMIT"), tuple("commit", "COMMITTED")));
        awaitReleased(billing);
        assertConnectionFree(billing);
    }

    @Test
    void twoCallsInOneTransactionShareOneBranchAndOneConnection() throws Exception {
        String id = UUID.randomUUID().toString();
        service().order(id, true, billingUrl, 2, false, false, false);
        String txid = service().lastTxid();

        assertThat(coordinator.requests()).filteredOn(("POST /api/v1/transactions/" + txid + "/branches")::equals)
                .hasSize(1);
        assertThat(coordinator.registrations(txid)).filteredOn(b -> b.resource().equals("billing-db")).hasSize(1);
        assertThat(sessionsByTxid.get(txid)).hasSize(2);
        assertThat(sessionsByTxid.get(txid).get(0)).isEqualTo(sessionsByTxid.get(txid).get(1));
        await().atMost(Duration.ofSeconds(10)).until(() -> H2Databases.exists("prop-billing", id + "-2"));
        assertThat(H2Databases.exists("prop-billing", id + "-1")).isTrue();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(coordinator.callbacks(txid))
                .extracting(Callback::operation).containsExactly("prepare", "commit"));
        awaitReleased(billing);
        assertConnectionFree(billing);
    }

    @Test
    void aRollbackByTheOriginatorRollsBackTheCalledServicesWorkAndFreesItsConnection() throws Exception {
        String id = UUID.randomUUID().toString();
        assertThatThrownBy(() -> service().order(id, true, billingUrl, 2, false, false, true))
                .hasMessageContaining("out of stock");
        String txid = service().lastTxid();

        await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.callbacks(txid).stream()
                .anyMatch(c -> c.operation().equals("rollback") && c.answer().equals("ROLLED_BACK")));
        awaitReleased(billing);
        assertThat(H2Databases.exists("prop-orders", id)).isFalse();
        assertThat(H2Databases.exists("prop-billing", id + "-1")).isFalse();
        assertThat(H2Databases.exists("prop-billing", id + "-2")).isFalse();
        assertConnectionFree(billing);
    }

    @Test
    void aFailureInTheCalledServiceRollsTheWholeTransactionBackEvenIfTheCallerCarriesOn() throws Exception {
        String id = UUID.randomUUID().toString();
        assertThatThrownBy(() -> service().order(id, true, billingUrl, 1, true, true, false))
                .isInstanceOf(UnexpectedRollbackException.class);
        String txid = service().lastTxid();

        assertThat(coordinator.transaction(txid).reason).contains("rolled back by the client");
        assertThat(H2Databases.exists("prop-orders", id)).isFalse();
        assertThat(H2Databases.exists("prop-billing", id + "-1")).isFalse();
        awaitReleased(billing);
        assertConnectionFree(billing);
    }

    /** Item 4: with no local branch but a remote one, the commit is decided by the coordinator, synchronously. */
    @Test
    void aTransactionWithOnlyRemoteWorkIsCommittedThroughTheCoordinatorBeforeCommitReturns() throws Exception {
        String id = UUID.randomUUID().toString();
        service().order(id, false, billingUrl, 1, false, false, false);
        String txid = service().lastTxid();

        // Already there when commit returned: the coordinator committed the only branch in one phase.
        assertThat(H2Databases.exists("prop-billing", id + "-1")).isTrue();
        assertThat(coordinator.requests()).contains("POST /api/v1/transactions/" + txid + "/commit");
        assertThat(coordinator.callbacks(txid)).singleElement().satisfies(c -> {
            assertThat(c.operation()).isEqualTo("commit");
            assertThat(c.onePhase()).isTrue();
            assertThat(c.answer()).isEqualTo("COMMITTED");
        });
        awaitReleased(billing);
        assertConnectionFree(billing);
    }

    @Test
    void earlyPrepareRegistersThePreparedBranchWithItsCallbackAndTheCoordinatorCommitsIt() throws Exception {
        String id = UUID.randomUUID().toString();
        service().order(id, true, billingEarlyUrl, 1, false, false, false);
        String txid = service().lastTxid();

        assertThat(coordinator.registrations(txid)).anySatisfy(b -> {
            assertThat(b.resource()).isEqualTo("billing-early-db");
            assertThat(b.state()).isEqualTo(BranchState.PREPARED);
            assertThat(b.callbackUrl()).isEqualTo(billingEarlyUrl + "/pledge/participant");
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> H2Databases.exists("prop-billing-early", id + "-1"));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(coordinator.callbacks(txid))
                .extracting(Callback::operation, Callback::answer).containsExactly(tuple("commit", "COMMITTED")));
        assertThat(H2Databases.exists("prop-orders", id)).isTrue();
        awaitReleased(billingEarly);
        assertConnectionFree(billingEarly);
    }

    @Test
    void earlyPreparedWorkRollsBackWhenTheOriginatorRollsBack() throws Exception {
        String id = UUID.randomUUID().toString();
        assertThatThrownBy(() -> service().order(id, true, billingEarlyUrl, 1, false, false, true))
                .hasMessageContaining("out of stock");
        String txid = service().lastTxid();

        await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.callbacks(txid).stream()
                .anyMatch(c -> c.operation().equals("rollback") && c.answer().equals("ROLLED_BACK")));
        awaitReleased(billingEarly);
        assertThat(H2Databases.exists("prop-billing-early", id + "-1")).isFalse();
        assertThat(H2Databases.preparedXids("prop-billing-early")).isEmpty();
        assertConnectionFree(billingEarly);
    }

    @Test
    void theCoordinatorsAbortAtTheDeadlineFreesTheParkedConnection() throws Exception {
        PledgeTransactionManager tm = orders.getBean(PledgeTransactionManager.class);
        RestClient http = orders.getBean(RestClient.Builder.class).build();
        String id = UUID.randomUUID().toString();
        tm.setTransactionTimeout(3);
        tm.begin();
        String txid = tm.getTransaction().txid();
        try {
            http.post().uri(billingUrl + "/charges/{id}", id).retrieve().toBodilessEntity();
            assertThat(joined(billing).heldBranchIds(txid)).hasSize(1);
        } finally {
            tm.suspend(); // abandoned: never committed nor rolled back
            tm.setTransactionTimeout(0);
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> joined(billing).heldBranchIds(txid).isEmpty());
        // the stand-in records a callback once its answer is back, which can be just after the release
        await().atMost(Duration.ofSeconds(10)).until(() -> coordinator.callbacks(txid).stream()
                .anyMatch(c -> c.operation().equals("rollback") && c.answer().equals("ROLLED_BACK")));
        assertThat(H2Databases.exists("prop-billing", id)).isFalse();
        awaitReleased(billing);
        assertConnectionFree(billing);
    }

    // ------------------------------------------------------------------ the callbacks themselves

    private static HttpResponse<String> callback(String operation, String authorization, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(billingUrl + "/pledge/participant/" + operation))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void callbacksRefuseAMissingOrWrongTokenWithAProblem() throws Exception {
        String body = "{\"txid\":\"drv:1:999999\",\"branchId\":\"billing-db:billing:j1\",\"onePhase\":false}";
        for (String authorization : new String[]{null, "Bearer wrong", "Basic " + CALLBACK_TOKEN, CALLBACK_TOKEN}) {
            HttpResponse<String> r = callback("commit", authorization, body);
            assertThat(r.statusCode()).as("Authorization: %s", authorization).isEqualTo(401);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
            assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(r.body()).contains("https://pledge.dev/problems/unauthorized").contains("callback token");
        }
    }

    @Test
    void aBranchThisServiceDoesNotHoldIsUnknownOnCommitAndRollbackAndVotesAbortOnPrepare() throws Exception {
        String auth = "Bearer " + CALLBACK_TOKEN;
        String ids = "\"txid\":\"drv:1:999999\",\"branchId\":\"billing-db:billing:j77\"";

        HttpResponse<String> commit = callback("commit", auth, "{" + ids + ",\"onePhase\":false}");
        assertThat(commit.statusCode()).isEqualTo(200);
        assertThat(commit.body()).contains("\"outcome\":\"UNKNOWN_BRANCH\"");
        HttpResponse<String> rollback = callback("rollback", auth, "{" + ids + "}");
        assertThat(rollback.statusCode()).isEqualTo(200);
        assertThat(rollback.body()).contains("\"outcome\":\"UNKNOWN_BRANCH\"");
        HttpResponse<String> prepare = callback("prepare", auth, "{" + ids + "}");
        assertThat(prepare.statusCode()).isEqualTo(200);
        assertThat(prepare.body()).contains("\"vote\":\"ABORT\"");
    }

    @Test
    void malformedCallbacksAreAnsweredWithAProblemNotAServerError() throws Exception {
        String auth = "Bearer " + CALLBACK_TOKEN;
        HttpResponse<String> notJson = callback("commit", auth, "{not json");
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(notJson.body()).contains("malformed-request");
        HttpResponse<String> badTxid = callback("prepare", auth, "{\"txid\":\"x y\",\"branchId\":\"b\"}");
        assertThat(badTxid.statusCode()).isEqualTo(400);
        assertThat(badTxid.body()).contains("invalid-txid");
    }

    @Test
    void aMalformedTxidHeaderIsRefusedWithAProblem() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(billingUrl + "/charges/x"))
                .header(PledgeHeaders.TXID, "not a txid").POST(HttpRequest.BodyPublishers.noBody()).build();
        HttpResponse<String> r = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("invalid-txid");
        assertConnectionFree(billing);
    }
}
