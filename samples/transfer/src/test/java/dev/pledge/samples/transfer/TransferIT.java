package dev.pledge.samples.transfer;

import dev.pledge.samples.support.CpuTime;
import dev.pledge.samples.support.Databases;
import dev.pledge.samples.support.SampleCoordinator;
import dev.pledge.samples.support.SampleJvm;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.testkit.H2TcpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The transfer sample end to end: the real coordinator jar in its own JVM, two PostgreSQL databases
 * (bank_a, bank_b) in one embedded server, an H2 TCP server, and the sample application -- in this JVM,
 * or in its own JVM where it is killed. Every test checks the banks themselves, and that no prepared
 * transaction is left in PostgreSQL.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TransferIT {
    private static final int ACCOUNTS = 100;
    private static final long INITIAL_BALANCE = 100_000;

    @TempDir
    static Path tmp;

    static EmbeddedPostgresServer pg;
    static H2TcpServer h2;
    static CoordinatorProcess coordinator;
    static String bankA;
    static String bankB;
    static String bankH2;
    static ConfigurableApplicationContext app;
    static TransferLoad.Result pledgeLoad;

    @BeforeAll
    static void start() throws Exception {
        pg = EmbeddedPostgresServer.start();
        Databases.create(pg, "bank_a", "bank_b");
        bankA = Databases.url(pg, "bank_a");
        bankB = Databases.url(pg, "bank_b");
        h2 = H2TcpServer.start();
        bankH2 = h2.jdbcUrl("bank_h2") + ";DB_CLOSE_DELAY=-1";
        coordinator = SampleCoordinator.configure()
                .resource("bank-a", "postgresql", bankA, EmbeddedPostgresServer.USER)
                .resource("bank-b", "postgresql", bankB, EmbeddedPostgresServer.USER)
                .resource("bank-h2", "h2", bankH2, "sa")
                .start(tmp.resolve("coordinator"));
        app = startApp(null);
    }

    @AfterAll
    static void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        if (coordinator != null) {
            coordinator.close();
        }
        if (h2 != null) {
            h2.close();
        }
        if (pg != null) {
            pg.close();
        }
    }

    /** The sample's command line: both banks, the coordinator, no batch at start-up; {@code more} overrides. */
    static List<String> args(String... more) {
        Map<String, String> args = new LinkedHashMap<>();
        for (String arg : List.of(
                "--bank.a.url=" + bankA, "--bank.b.url=" + bankB,
                "--pledge.coordinator.url=" + coordinator.baseUrl(),
                "--pledge.coordinator.token=" + SampleCoordinator.TOKEN,
                "--transfer.accounts=" + ACCOUNTS, "--transfer.initial-balance=" + INITIAL_BALANCE,
                "--transfer.load.enabled=false",
                "--transfer.atomikos.log-dir=" + tmp.resolve("atomikos"),
                "--spring.main.banner-mode=off", "--logging.level.root=WARN")) {
            args.put(arg.substring(0, arg.indexOf('=')), arg);
        }
        for (String arg : more) {
            args.put(arg.substring(0, arg.indexOf('=')), arg);
        }
        return new ArrayList<>(args.values());
    }

    static ConfigurableApplicationContext startApp(String profile, String... more) {
        SpringApplicationBuilder b = new SpringApplicationBuilder(TransferApplication.class);
        if (profile != null) {
            b.profiles(profile);
        }
        return b.run(args(more).toArray(String[]::new));
    }

    @BeforeEach
    void freshAccounts() {
        openAccounts();
    }

    /** Every account back to its initial balance, no transfer logged. */
    static void openAccounts() {
        for (String bank : List.of(bankA, bankB)) {
            Databases.update(bank, "TRUNCATE transfer_log");
            Databases.update(bank, "UPDATE account SET balance = ?", INITIAL_BALANCE);
        }
    }

    @AfterEach
    void noPreparedTransactionLeft() {
        await().atMost(Duration.ofSeconds(30)).until(() -> Databases.preparedTransactions(pg) == 0);
    }

    @Test
    @Order(1)
    void transferCommitsInBothDatabases() {
        UUID id = UUID.randomUUID();
        app.getBean(TransferService.class).transfer(id, 1, 2, 250);

        assertThat(balance(bankA, 1)).isEqualTo(INITIAL_BALANCE - 250);
        assertThat(balance(bankB, 2)).isEqualTo(INITIAL_BALANCE + 250);
        assertThat(logged(bankA, id)).isEqualTo(1);
        assertThat(logged(bankB, id)).isEqualTo(1);
        assertThat(Databases.preparedTransactions(pg)).isZero();
    }

    @Test
    @Order(2)
    void failedTransferChangesNeitherDatabase() {
        UUID id = UUID.randomUUID();
        // bank A is debited first, then bank B has no account 9999: the whole transfer rolls back
        assertThatThrownBy(() -> app.getBean(TransferService.class).transfer(id, 1, 9999, 250))
                .isInstanceOf(UnknownAccountException.class);

        assertThat(balance(bankA, 1)).isEqualTo(INITIAL_BALANCE);
        assertThat(logged(bankA, id)).isZero();
        assertThat(logged(bankB, id)).isZero();
        assertThat(total(bankA) + total(bankB)).isEqualTo(2 * ACCOUNTS * INITIAL_BALANCE);
    }

    @Test
    @Order(3)
    void noVoteAtPrepareRollsBackEveryBranch() {
        UUID id = UUID.randomUUID();
        // moves more than account 2 of bank B holds: every statement succeeds, but bank B's deferred
        // overdraft check fails its PREPARE TRANSACTION -- after bank A's branch was already prepared
        assertThatThrownBy(() -> app.getBean(TransferService.class).transfer(id, 1, 2, -(INITIAL_BALANCE + 1)))
                .satisfies(e -> assertThat(causes(e)).anyMatch(m -> m.contains("prepare of branch bank-b:"))
                        .anyMatch(m -> m.contains("account 2 would be overdrawn")));

        assertThat(balance(bankA, 1)).isEqualTo(INITIAL_BALANCE);
        assertThat(balance(bankB, 2)).isEqualTo(INITIAL_BALANCE);
        assertThat(logged(bankA, id)).isZero();
        assertThat(logged(bankB, id)).isZero();
        assertThat(Databases.preparedTransactions(pg)).isZero();
    }

    @Test
    @Order(4)
    void transferBetweenPostgresAndH2Commits() {
        // H2 is not crash-safe (docs/resources.md): the happy path only
        try (ConfigurableApplicationContext mixed = startApp(null, "--bank.b.url=" + bankH2,
                "--pledge.datasources.bank-b.user=sa", "--pledge.datasources.bank-b.resource-name=bank-h2")) {
            TransferService service = mixed.getBean(TransferService.class);
            Databases.update(bankH2, "TRUNCATE TABLE transfer_log");
            Databases.update(bankH2, "UPDATE account SET balance = ?", INITIAL_BALANCE);
            UUID first = UUID.randomUUID();
            UUID second = UUID.randomUUID();
            service.transfer(first, 1, 2, 300);
            service.transfer(second, 3, 2, -50);

            assertThat(balance(bankA, 1)).isEqualTo(INITIAL_BALANCE - 300);
            assertThat(balance(bankA, 3)).isEqualTo(INITIAL_BALANCE + 50);
            assertThat(balance(bankH2, 2)).isEqualTo(INITIAL_BALANCE + 250);
            for (UUID id : List.of(first, second)) {
                assertThat(logged(bankA, id)).isEqualTo(1);
                assertThat(logged(bankH2, id)).isEqualTo(1);
            }
            assertThat(Databases.preparedTransactions(pg)).isZero();
        }
    }

    @Test
    @Order(5)
    void sampleKilledBetweenTheDecisionAndItsOwnCommitIsFinishedByTheCoordinator() throws Exception {
        UUID id = UUID.randomUUID();
        try (SampleJvm sample = SampleJvm.start(TransferCrashMain.class, tmp.resolve("transfer-crash.out"),
                args("--crash.transfer-id=" + id, "--transfer.init-schema=false"))) {
            SampleJvm.FailpointHit hit = sample.awaitFailpoint(Duration.ofSeconds(120));

            // decided COMMITTED; both branches prepared, neither committed; then the process dies
            assertThat(Databases.preparedTransactions(pg)).isEqualTo(2);
            assertThat(logged(bankA, id) + logged(bankB, id)).isZero();
            sample.kill();

            // after its completion grace the coordinator commits both branches over its own XA connections
            await().atMost(Duration.ofSeconds(60)).until(() -> Databases.preparedTransactions(pg) == 0);
            assertThat(logged(bankA, id)).isEqualTo(1);
            assertThat(logged(bankB, id)).isEqualTo(1);
            assertThat(balance(bankA, 1)).isEqualTo(INITIAL_BALANCE - 100);
            assertThat(balance(bankB, 2)).isEqualTo(INITIAL_BALANCE + 100);
            JsonNode tx = SampleCoordinator.api(coordinator).get("/api/v1/transactions/" + hit.txid()).json();
            assertThat(tx.get("state").asString()).isEqualTo("COMMITTED");
            assertThat(tx.get("branches")).hasSize(2)
                    .allSatisfy(b -> assertThat(b.get("state").asString()).isEqualTo("COMMITTED"));
        }
    }

    @Test
    @Order(6)
    void sixteenThreadsOfTransfersConserveMoneyWithPledge() throws Exception {
        pledgeLoad = measure("Pledge", app.getBean(TransferService.class));
        assertEveryTransferAppliedInBothOrNeither(pledgeLoad);
    }

    @Test
    @Order(7)
    void sixteenThreadsOfTransfersConserveMoneyWithAtomikos() throws Exception {
        TransferLoad.Result atomikos;
        try (ConfigurableApplicationContext baseline = startApp("atomikos")) {
            atomikos = measure("Atomikos", baseline.getBean(TransferService.class));
        }
        if (pledgeLoad != null) {
            System.out.printf("Pledge / Atomikos throughput: %.2f%n", pledgeLoad.perSecond() / atomikos.perSecond());
        }
        assertEveryTransferAppliedInBothOrNeither(atomikos);
    }

    @Test
    @Order(8)
    void theExecutableJarRunsItsBatchOnPledgeAndOnAtomikos() throws Exception {
        for (String profile : List.of("default", "atomikos")) {
            try (SampleJvm jar = SampleJvm.startJar(Path.of(System.getProperty("sample.jar")),
                    tmp.resolve("transfer-jar-" + profile + ".out"), args("--spring.profiles.active=" + profile,
                            "--transfer.load.enabled=true", "--transfer.load.threads=4",
                            "--transfer.load.transfers-per-thread=25",
                            "--transfer.atomikos.log-dir=" + tmp.resolve("atomikos-jar")))) {
                assertThat(jar.awaitExit(Duration.ofSeconds(120))).as(jar.output()).isZero();
                assertThat(jar.output()).contains("OK: money conserved, every transfer in both banks or neither")
                        .contains((profile.equals("atomikos") ? "Atomikos" : "Pledge") + ": 100 transfers by 4 threads");
            }
        }
        assertThat(total(bankA) + total(bankB)).isEqualTo(2 * ACCOUNTS * INITIAL_BALANCE);
    }

    /**
     * 16 threads x 500 transfers after a warm-up of 16 x 25 (so neither transaction manager is measured
     * while its JVM still compiles), on freshly opened accounts; prints throughput and CPU per transaction.
     */
    private static TransferLoad.Result measure(String name, TransferService service) throws Exception {
        TransferLoad.run(service, ACCOUNTS, new TransferProperties.Load(false, 16, 25, 100, 7));
        await().atMost(Duration.ofSeconds(30)).until(() -> Databases.preparedTransactions(pg) == 0);
        openAccounts();
        CpuTime before = CpuTime.now(coordinator.pid());
        TransferLoad.Result r = TransferLoad.run(service, ACCOUNTS, new TransferProperties.Load(false, 16, 500, 100, 42));
        CpuTime after = CpuTime.now(coordinator.pid());
        System.out.println(r.summary(name));
        System.out.println("  " + after.perTransactionSince(before, r.attempted()));
        return r;
    }

    private static void assertEveryTransferAppliedInBothOrNeither(TransferLoad.Result r) {
        await().atMost(Duration.ofSeconds(30)).until(() -> Databases.preparedTransactions(pg) == 0);
        Set<Object> inA = new HashSet<>(Databases.column(bankA, "SELECT transfer_id FROM transfer_log"));
        Set<Object> inB = new HashSet<>(Databases.column(bankB, "SELECT transfer_id FROM transfer_log"));
        assertThat(r.sampleErrors()).isEmpty();
        assertThat(r.committed()).hasSize(r.attempted());
        assertThat(inA).isEqualTo(inB);
        assertThat(inA).containsExactlyInAnyOrderElementsOf(r.committed());
        assertThat(total(bankA) + total(bankB)).isEqualTo(2 * ACCOUNTS * INITIAL_BALANCE);
    }

    private static long balance(String bank, int account) {
        return Databases.queryLong(bank, "SELECT balance FROM account WHERE id = ?", account);
    }

    private static long total(String bank) {
        return Databases.queryLong(bank, "SELECT SUM(balance) FROM account");
    }

    private static long logged(String bank, UUID transferId) {
        return Databases.queryLong(bank, "SELECT count(*) FROM transfer_log WHERE transfer_id = ?", transferId);
    }

    private static List<String> causes(Throwable e) {
        List<String> messages = new ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            messages.add(String.valueOf(t.getMessage()));
        }
        return messages;
    }
}
