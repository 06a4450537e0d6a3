package dev.pledge.xa;

import dev.pledge.xa.PhaseTwoResult.Outcome;
import dev.pledge.xa.ResourceDiagnostics.HeldLock;
import dev.pledge.xa.ResourceDiagnostics.PreparedBranch;
import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.testkit.TcpProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.xa.PGXADataSource;

import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The PostgreSQL adapter against a real PostgreSQL 14 (zonky), durable settings, one server for the class. */
class PostgresXaAdapterTest {
    private static final AtomicInteger IDS = new AtomicInteger();
    private static EmbeddedPostgresServer pg;
    private static XaResourceAdapter adapter;

    @BeforeAll
    static void startPostgres() {
        pg = EmbeddedPostgresServer.start();
        pg.execute("CREATE TABLE account (id int PRIMARY KEY, note text)");
        adapter = XaResourceAdapters.create(new ResourceConfig("orders-db", "postgresql", pg.jdbcUrl(),
                EmbeddedPostgresServer.USER, ""));
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        pg.close();
    }

    /** A failed test must not leave prepared branches behind: they hold locks and the VACUUM horizon. */
    @AfterEach
    void rollBackLeftovers() {
        RecoveredXids left = adapter.recover(TestXids.CLUSTER);
        left.ours().forEach(adapter::rollback);
        left.foreign().forEach(adapter::rollback);
    }

    @Test
    void preparedBranchSurvivesPreparingConnectionCloseAndAnotherConnectionCommitsIt() throws Exception {
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        int id = IDS.incrementAndGet();
        XAConnection a = prepareInsert(pg.jdbcUrl(), xid, id);
        a.close();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(preparedGids()).contains(PostgresXaAdapter.xidToGid(xid));
        assertThat(rowExists(id)).isFalse();

        PhaseTwoResult result = adapter.commit(xid);

        assertThat(result.outcome()).isEqualTo(Outcome.DONE);
        assertThat(rowExists(id)).isTrue();
        assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
    }

    @Test
    void rollbackFromAnotherConnectionDiscardsThePreparedWork() throws Exception {
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        int id = IDS.incrementAndGet();
        prepareInsert(pg.jdbcUrl(), xid, id).close();

        PhaseTwoResult result = adapter.rollback(xid);

        assertThat(result.outcome()).isEqualTo(Outcome.DONE);
        assertThat(rowExists(id)).isFalse();
        assertThat(preparedGids()).doesNotContain(PostgresXaAdapter.xidToGid(xid));
    }

    @Test
    void preparedBranchSurvivesPreparingClientCrash() throws Exception {
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        int id = IDS.incrementAndGet();
        try (TcpProxy proxy = new TcpProxy(pg.port())) {
            XAConnection a = prepareInsert(pg.jdbcUrl(proxy.port()), xid, id);
            proxy.cutAll();
            try {
                a.close();
            } catch (SQLException expected) {
                // the connection is already dead, as after a crash
            }
        }
        awaitNoOtherBackends();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);
        assertThat(rowExists(id)).isTrue();
    }

    @Test
    void preparedBranchSurvivesServerRestartAndCanBeCommitted() throws Exception {
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        int id = IDS.incrementAndGet();
        prepareInsert(pg.jdbcUrl(), xid, id).close();

        pg.restart();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);
        assertThat(rowExists(id)).isTrue();
    }

    @Test
    void phaseTwoOfAnUnknownXidIsAlreadyDoneNota() {
        PledgeXid unknown = TestXids.ours("orders-db:app-1:1");

        PhaseTwoResult commit = adapter.commit(unknown);
        PhaseTwoResult rollback = adapter.rollback(unknown);

        assertThat(commit.outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(commit.assumedCommitted()).isTrue();
        assertThat(commit.message()).contains("orders-db").contains("XAER_NOTA").contains("assumed committed");
        assertThat(rollback.outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(rollback.assumedCommitted()).isFalse();
        // pgjdbc keeps no heuristic outcomes: forget always answers XAER_NOTA, "nothing to forget"
        PhaseTwoResult forget = adapter.forget(unknown);
        assertThat(forget.outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(forget.message()).contains("orders-db").contains("XAER_NOTA").contains("nothing to forget");
    }

    @Test
    void foreignXidsAreListedAsForeignAndNeverAsOurs() throws Exception {
        Xid otherFormat = TestXids.otherFormat();
        PledgeXid otherCluster = TestXids.otherCluster("orders-db:app-9:1");
        prepareInsert(pg.jdbcUrl(), otherFormat, IDS.incrementAndGet()).close();
        prepareInsert(pg.jdbcUrl(), otherCluster, IDS.incrementAndGet()).close();
        try {
            RecoveredXids recovered = adapter.recover(TestXids.CLUSTER);

            assertThat(recovered.foreign()).contains(TestXids.raw(otherFormat), TestXids.raw(otherCluster));
            assertThat(recovered.ours()).allSatisfy(x -> assertThat(x.txid()).startsWith(TestXids.CLUSTER + ":"));
            assertThat(recovered.ours()).noneMatch(otherCluster::sameAs);
            // cluster c2 sees the same branch as its own
            assertThat(adapter.recover("c2").ours()).contains(otherCluster);
        } finally {
            // an explicit operator-style action: the only way foreign branches get touched
            assertThat(adapter.rollback(otherFormat).outcome()).isEqualTo(Outcome.DONE);
            assertThat(adapter.rollback(otherCluster).outcome()).isEqualTo(Outcome.DONE);
        }
    }

    @Test
    void diagnosticsShowAgeDatabaseOwnerAndLocksOfAPreparedUpdate() throws Exception {
        int id = IDS.incrementAndGet();
        pg.execute("INSERT INTO account VALUES (" + id + ", 'before')");
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        prepareWork(pg.jdbcUrl(), xid, "UPDATE account SET note = 'prepared' WHERE id = " + id).close();
        try {
            ResourceDiagnostics diagnostics = adapter.diagnostics(TestXids.CLUSTER);

            PreparedBranch branch = diagnostics.branches().stream().filter(b -> xid.equals(b.xid()))
                    .findFirst().orElseThrow();
            assertThat(branch.ours()).isTrue();
            assertThat(branch.nativeId()).isEqualTo(PostgresXaAdapter.xidToGid(xid));
            assertThat(branch.database()).isEqualTo(EmbeddedPostgresServer.DATABASE);
            assertThat(branch.owner()).isEqualTo(EmbeddedPostgresServer.USER);
            assertThat(branch.age().isNegative()).isFalse();
            assertThat(branch.locks()).extracting(HeldLock::lockType, HeldLock::mode, HeldLock::target)
                    .contains(org.assertj.core.groups.Tuple.tuple("relation", "RowExclusiveLock", "account"),
                            org.assertj.core.groups.Tuple.tuple("transactionid", "ExclusiveLock",
                                    "xid " + transactionOf(xid)));
            assertThat(branch.locks()).allMatch(HeldLock::granted);
        } finally {
            adapter.rollback(xid);
        }
    }

    /**
     * How to join pg_locks to pg_prepared_xacts, measured on PostgreSQL 14 (docs/resources.md): the
     * locks of a prepared transaction have {@code pid} NULL and keep the virtual transaction id of the
     * backend that prepared it (e.g. {@code 3/9}), not {@code -1/<xid>}; the way in is the
     * ExclusiveLock on the prepared transaction's own xid.
     */
    @Test
    void preparedTransactionLocksKeepThePreparingBackendsVirtualTransactionAndNoPid() throws Exception {
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        prepareInsert(pg.jdbcUrl(), xid, IDS.incrementAndGet()).close();
        String gid = PostgresXaAdapter.xidToGid(xid);
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_xacts p"
                    + " JOIN pg_locks l ON l.virtualtransaction = '-1/' || p.transaction WHERE p.gid = '" + gid + "'")) {
                rs.next();
                assertThat(rs.getInt(1)).as("locks found by the '-1/<xid>' join").isZero();
            }
            try (ResultSet rs = s.executeQuery("SELECT l.pid, l.virtualtransaction, l.locktype, l.mode,"
                    + " l.relation::regclass::text FROM pg_prepared_xacts p"
                    + " JOIN pg_locks own ON own.locktype = 'transactionid' AND own.transactionid = p.transaction"
                    + "  AND own.mode = 'ExclusiveLock'"
                    + " JOIN pg_locks l ON l.virtualtransaction = own.virtualtransaction"
                    + " WHERE p.gid = '" + gid + "'")) {
                List<String> locks = new ArrayList<>();
                while (rs.next()) {
                    assertThat(rs.getObject(1)).as("pid of a prepared transaction's lock").isNull();
                    assertThat(rs.getString(2)).matches("[0-9]+/[0-9]+").doesNotStartWith("-1/");
                    locks.add(rs.getString(3) + " " + rs.getString(4) + " " + rs.getString(5));
                }
                assertThat(locks).containsExactlyInAnyOrder("transactionid ExclusiveLock null",
                        "relation RowExclusiveLock account");
            }
        } finally {
            adapter.rollback(xid);
        }
    }

    @Test
    void preparedBranchHoldsItsRowLocksAgainstOtherSessions() throws Exception {
        int id = IDS.incrementAndGet();
        pg.execute("INSERT INTO account VALUES (" + id + ", 'before')");
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        prepareWork(pg.jdbcUrl(), xid, "UPDATE account SET note = 'prepared' WHERE id = " + id).close();
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            s.execute("SET lock_timeout = '300ms'");
            assertThatThrownBy(() -> s.executeUpdate("UPDATE account SET note = 'other' WHERE id = " + id))
                    .isInstanceOf(SQLException.class).hasMessageContaining("lock timeout");
        } finally {
            adapter.rollback(xid);
        }
    }

    @Test
    void preparedBranchKeepsVacuumFromRemovingDeadRows() throws Exception {
        pg.execute("CREATE TABLE churn (id int PRIMARY KEY)", "INSERT INTO churn SELECT generate_series(1, 100)");
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");
        prepareInsert(pg.jdbcUrl(), xid, IDS.incrementAndGet()).close();
        try {
            pg.execute("DELETE FROM churn");
            // PostgreSQL 14's wording
            assertThat(vacuumVerbose("churn")).contains("found 0 removable, 100 nonremovable row versions");
        } finally {
            adapter.rollback(xid);
        }
        assertThat(vacuumVerbose("churn")).contains("found 100 removable, 0 nonremovable row versions");
    }

    @Test
    void pingIsUpForARunningServerAndDownQuicklyForAClosedPort() {
        assertThat(adapter.ping().status()).isEqualTo(ResourceHealth.Status.UP);

        XaResourceAdapter nowhere = XaResourceAdapters.create(new ResourceConfig("gone-db", "postgresql",
                "jdbc:postgresql://127.0.0.1:" + dev.pledge.testkit.FreePort.find() + "/x", "u", "secret"));
        ResourceHealth health = nowhere.ping();
        assertThat(health.status()).isEqualTo(ResourceHealth.Status.DOWN);
        assertThat(health.message()).contains("gone-db").doesNotContain("secret");
        assertThat(health.latency()).isLessThan(java.time.Duration.ofSeconds(6));
        assertThat(nowhere.commit(TestXids.ours("b")).outcome()).isEqualTo(Outcome.RETRY);
        assertThatThrownBy(() -> nowhere.recover(TestXids.CLUSTER)).isInstanceOf(XaResourceException.class)
                .hasMessageContaining("gone-db");
    }

    // --- helpers

    /** Does work on a new XA connection under {@code xid} and prepares it; the caller closes (or cuts) it. */
    static XAConnection prepareWork(String url, Xid xid, String sql) throws Exception {
        PGXADataSource ds = new PGXADataSource();
        ds.setUrl(url);
        ds.setUser(EmbeddedPostgresServer.USER);
        XAConnection xa = ds.getXAConnection();
        XAResource resource = xa.getXAResource();
        resource.start(xid, XAResource.TMNOFLAGS);
        try (Statement s = xa.getConnection().createStatement()) {
            s.executeUpdate(sql);
        }
        resource.end(xid, XAResource.TMSUCCESS);
        assertThat(resource.prepare(xid)).isEqualTo(XAResource.XA_OK);
        return xa;
    }

    static XAConnection prepareInsert(String url, Xid xid, int id) throws Exception {
        return prepareWork(url, xid, "INSERT INTO account VALUES (" + id + ", 'xa')");
    }

    private static List<String> preparedGids() throws SQLException {
        List<String> gids = new ArrayList<>();
        try (Connection c = pg.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT gid FROM pg_prepared_xacts")) {
            while (rs.next()) {
                gids.add(rs.getString(1));
            }
        }
        return gids;
    }

    private static String transactionOf(Xid xid) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT transaction::text FROM pg_prepared_xacts WHERE gid = '"
                     + PostgresXaAdapter.xidToGid(xid) + "'")) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    private static boolean rowExists(int id) throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM account WHERE id = " + id)) {
            rs.next();
            return rs.getInt(1) == 1;
        }
    }

    /** The server notices the cut connection asynchronously; wait (bounded) until only we are connected. */
    private static void awaitNoOtherBackends() throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            try (Connection c = pg.connect(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity"
                         + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")) {
                rs.next();
                if (rs.getInt(1) == 0) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the cut connection's backend did not exit within 5 s");
    }

    private static String vacuumVerbose(String table) throws SQLException {
        StringBuilder out = new StringBuilder();
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            s.execute("VACUUM (VERBOSE) " + table);
            for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
                out.append(w.getMessage()).append('\n');
            }
        }
        return out.toString();
    }
}
