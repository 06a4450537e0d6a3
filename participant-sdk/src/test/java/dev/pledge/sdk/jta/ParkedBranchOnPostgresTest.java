package dev.pledge.sdk.jta;

import dev.pledge.protocol.BeginResponse;
import dev.pledge.protocol.ParticipantCalls.PhaseTwoResponse;
import dev.pledge.protocol.Vote;
import dev.pledge.sdk.DrivingCoordinator;
import dev.pledge.sdk.Pledge;
import dev.pledge.sdk.jta.JoinedTransactions.JoinedRequest;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import dev.pledge.testkit.EmbeddedPostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Parked branches on a real PostgreSQL, where they matter most: pgjdbc has no suspend/resume and no join across
 * connections, but accepts {@code start(xid, TMJOIN)} on the connection that ended that same XID. Two requests
 * of one transaction update the same row on one branch (a second connection would wait for the first one's
 * row lock: a self-deadlock), and a parked branch whose deadline passed releases its locks.
 */
class ParkedBranchOnPostgresTest {
    static EmbeddedPostgresServer postgres;

    DrivingCoordinator coordinator;
    Pledge pledge;
    DataSource pool;
    JoinedTransactions joined;

    @BeforeAll
    static void startPostgres() {
        postgres = EmbeddedPostgresServer.start();
        postgres.execute("CREATE TABLE accounts(id VARCHAR(64) PRIMARY KEY, balance INT NOT NULL)");
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        postgres.close();
    }

    @BeforeEach
    void start() throws Exception {
        coordinator = new DrivingCoordinator("t", Set.of("accounts-db"));
        coordinator.abortAtDeadline(false);
        pledge = Pledge.builder().coordinatorUrl(coordinator.url()).token("t").instanceId("pg")
                .maxRetryTime(Duration.ofMillis(200)).build();
        pool = pledge.dataSource(new XaDataSourceConfig("accounts-db", null, postgres.jdbcUrl(),
                EmbeddedPostgresServer.USER, null, 1, Duration.ofSeconds(2)));
        joined = new JoinedTransactions(pledge.transactionManager(),
                JoinedTransactions.Settings.defaults(() -> "http://127.0.0.1:9/pledge/participant")
                        .withExpiryGrace(Duration.ZERO));
    }

    @AfterEach
    void stop() {
        joined.close();
        pledge.close();
        coordinator.close();
    }

    /** One request: debits the account on the pooled connection, failing fast on a lock wait; returns the backend pid. */
    private int debit(BeginResponse tx, String id, int amount) throws Exception {
        JoinedRequest request = joined.enter(tx.txid(), tx.deadline());
        try (Connection c = pool.getConnection()) {
            try (Statement s = c.createStatement()) {
                s.execute("SET LOCAL lock_timeout = '2s'");
            }
            try (PreparedStatement update = c.prepareStatement("UPDATE accounts SET balance = balance - ? WHERE id = ?")) {
                update.setInt(1, amount);
                update.setString(2, id);
                assertThat(update.executeUpdate()).isEqualTo(1);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                return rs.getInt(1);
            }
        } finally {
            assertThat(request.exit(null)).isNull();
        }
    }

    private static int balance(String id) throws Exception {
        try (Connection c = postgres.connect(); PreparedStatement s = c.prepareStatement(
                "SELECT balance FROM accounts WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static int preparedCount() throws Exception {
        try (Connection c = postgres.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_xacts")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void twoRequestsUpdateTheSameRowOnOneParkedBranchWithoutWaitingForThemselves() throws Exception {
        String id = UUID.randomUUID().toString();
        postgres.execute("INSERT INTO accounts VALUES ('" + id + "', 100)");
        BeginResponse tx = pledge.client().begin(Duration.ofSeconds(30), "pg");

        int firstBackend = debit(tx, id, 10);
        int secondBackend = debit(tx, id, 5); // re-joins the parked branch (TMJOIN) on the same connection

        assertThat(secondBackend).isEqualTo(firstBackend);
        assertThat(coordinator.registrations(tx.txid())).hasSize(1);
        assertThat(balance(id)).isEqualTo(100); // nothing visible before the commit
        String branchId = coordinator.registrations(tx.txid()).get(0).branchId();
        assertThat(joined.prepare(tx.txid(), branchId).vote()).isEqualTo(Vote.COMMIT);
        assertThat(preparedCount()).isEqualTo(1);
        assertThat(joined.commit(tx.txid(), branchId, false).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
        assertThat(balance(id)).isEqualTo(85);
        assertThat(preparedCount()).isZero();
        try (Connection c = pool.getConnection()) {
            assertThat(c.isValid(1)).isTrue(); // back in the pool (which holds one connection)
        }
    }

    @Test
    void aParkedBranchPastItsDeadlineRollsBackAndReleasesItsRowLock() throws Exception {
        String id = UUID.randomUUID().toString();
        postgres.execute("INSERT INTO accounts VALUES ('" + id + "', 100)");
        BeginResponse tx = pledge.client().begin(Duration.ofMillis(1500), "pg");
        debit(tx, id, 10);

        await().atMost(Duration.ofSeconds(10)).until(() -> joined.joinedCount() == 0);
        postgres.execute("SET lock_timeout = '2s'", "UPDATE accounts SET balance = balance + 1 WHERE id = '" + id + "'");
        assertThat(balance(id)).isEqualTo(101);
        assertThat(preparedCount()).isZero();
    }
}
