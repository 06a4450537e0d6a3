package dev.pledge.xa;

import dev.pledge.xa.PhaseTwoResult.Outcome;
import dev.pledge.testkit.H2TcpServer;
import dev.pledge.testkit.TcpProxy;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.sql.XAConnection;
import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What H2 (the version the Spring Boot parent manages) really does with a prepared XA branch over TCP.
 * Each test pins one measured behaviour, good or bad, so it fails if H2 changes; docs/resources.md
 * quotes them. Surefire runs this module with {@code -da:org.h2...}: with JVM assertions on, H2's
 * own MVStore assertion fails while closing a database that holds a prepared branch (see the docs).
 */
class H2XaAdapterTest {
    private static final String DATABASE = "orders";
    private static final String SETTINGS = ";DB_CLOSE_DELAY=-1";
    private static final AtomicInteger IDS = new AtomicInteger();
    private static H2TcpServer h2;
    private static XaResourceAdapter adapter;

    @BeforeAll
    static void startH2() throws SQLException {
        h2 = H2TcpServer.start();
        try (Connection c = dataSource(h2.port()).getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE account (id int PRIMARY KEY, note varchar(100))");
        }
        adapter = XaResourceAdapters.create(new ResourceConfig("audit-db", "h2", url(h2.port()), "sa", ""));
    }

    @AfterAll
    static void stopH2() throws Exception {
        h2.close();
    }

    @Test
    void preparedBranchIsListedAndAnotherConnectionCommitsItWhileThePreparingConnectionIsOpen() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        try (AutoCloseableXa a = prepareInsert(h2.port(), xid, id)) {
            assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);

            assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);

            assertThat(rowExists(id)).isTrue();
            assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
        }
        assertThat(rowExists(id)).as("closing the preparing connection after the commit changes nothing").isTrue();
    }

    @Test
    void preparedBranchIsLostWhenPreparingConnectionCloses() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        prepareInsert(h2.port(), xid, id).close();

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
        assertThat(rowExists(id)).isFalse();
        PhaseTwoResult commit = adapter.commit(xid);
        assertThat(commit.outcome()).as("H2 answers 'not found', which S6 reads as already committed")
                .isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(commit.assumedCommitted()).isTrue();
        assertThat(rowExists(id)).as("...but the work is gone").isFalse();
    }

    /** The cause of the loss above: the logical handle's close() rolls back the shared session. */
    @Test
    void closingTheConnectionHandleAfterPrepareRollsBackThePreparedBranch() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        try (AutoCloseableXa a = prepareInsert(h2.port(), xid, id)) {
            a.handle.close();

            assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
            assertThat(rowExists(id)).isFalse();
        }
    }

    @Test
    void closingTheConnectionHandleBeforePrepareDiscardsTheWorkYetPrepareReportsOk() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        XAConnection xa = dataSource(h2.port()).getXAConnection();
        try {
            XAResource resource = xa.getXAResource();
            resource.start(xid, XAResource.TMNOFLAGS);
            Connection handle = xa.getConnection();
            try (Statement s = handle.createStatement()) {
                s.executeUpdate("INSERT INTO account VALUES (" + id + ", 'xa')");
            }
            handle.close();
            resource.end(xid, XAResource.TMSUCCESS);

            assertThat(resource.prepare(xid)).isEqualTo(XAResource.XA_OK);

            assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
            assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
            assertThat(rowExists(id)).isFalse();
        } finally {
            xa.close();
        }
    }

    @Test
    void preparedBranchSurvivesAbruptDisconnectOfThePreparingClient() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        try (TcpProxy proxy = new TcpProxy(h2.port())) {
            AutoCloseableXa a = prepareInsert(proxy.port(), xid, id);
            proxy.cutAll();
            closeQuietly(a);
        }

        assertThat(awaitListed(xid)).isTrue();
        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);
        assertThat(rowExists(id)).isTrue();
    }

    @Test
    void preparedBranchSurvivesServerRestart() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        AutoCloseableXa a = prepareInsert(h2.port(), xid, id);

        h2.restart(); // closes the preparing session from the server side, then reopens the files
        closeQuietly(a);

        assertThat(adapter.recover(TestXids.CLUSTER).ours()).contains(xid);
        assertThat(adapter.commit(xid).outcome()).isEqualTo(Outcome.DONE);
        assertThat(rowExists(id)).isTrue();
    }

    @Test
    void driverRollbackFromANewConnectionLeavesThePreparedBranchButTheAdapterRollsItBack() throws Exception {
        PledgeXid xid = TestXids.ours("audit-db:app-1:1");
        int id = IDS.incrementAndGet();
        try (AutoCloseableXa a = prepareInsert(h2.port(), xid, id)) {
            XAConnection fresh = dataSource(h2.port()).getXAConnection();
            try {
                fresh.getXAResource().rollback(xid); // reports success...
            } finally {
                fresh.close();
            }
            assertThat(adapter.recover(TestXids.CLUSTER).ours()).as("...but did nothing").contains(xid);

            assertThat(adapter.rollback(xid).outcome()).isEqualTo(Outcome.DONE);

            assertThat(adapter.recover(TestXids.CLUSTER).ours()).doesNotContain(xid);
            assertThat(rowExists(id)).isFalse();
        }
    }

    @Test
    void phaseTwoOfAnUnknownXidIsAlreadyDoneNota() throws Exception {
        PledgeXid unknown = TestXids.ours("audit-db:app-1:1");
        XAConnection raw = dataSource(h2.port()).getXAConnection();
        try {
            assertThatThrownBy(() -> raw.getXAResource().commit(unknown, false))
                    .isInstanceOfSatisfying(XAException.class, e -> assertThat(e.errorCode)
                            .as("H2 gives 'not found' no XA error code; the adapter translates it").isZero());
        } finally {
            raw.close();
        }

        assertThat(adapter.commit(unknown).outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        assertThat(adapter.rollback(unknown).outcome()).isEqualTo(Outcome.ALREADY_DONE_NOTA);
        // H2's forget does nothing and reports nothing, known XID or not: DONE
        assertThat(adapter.forget(unknown).outcome()).isEqualTo(Outcome.DONE);
    }

    @Test
    void foreignXidsAreListedAsForeign() throws Exception {
        Xid otherFormat = TestXids.otherFormat();
        try (AutoCloseableXa a = prepareInsert(h2.port(), otherFormat, IDS.incrementAndGet())) {
            RecoveredXids recovered = adapter.recover(TestXids.CLUSTER);

            assertThat(recovered.foreign()).contains(TestXids.raw(otherFormat));
            assertThat(adapter.diagnostics(TestXids.CLUSTER).branches())
                    .anySatisfy(b -> {
                        assertThat(b.xid()).isEqualTo(TestXids.raw(otherFormat));
                        assertThat(b.ours()).isFalse();
                    });
            assertThat(adapter.rollback(otherFormat).outcome()).isEqualTo(Outcome.DONE);
        }
    }

    @Test
    void pingIsUpForARunningServerAndDownForAClosedPort() {
        assertThat(adapter.ping().status()).isEqualTo(ResourceHealth.Status.UP);
        XaResourceAdapter nowhere = XaResourceAdapters.create(new ResourceConfig("gone", "h2",
                url(dev.pledge.testkit.FreePort.find()), "sa", ""));
        assertThat(nowhere.ping().status()).isEqualTo(ResourceHealth.Status.DOWN);
    }

    // --- helpers

    private static String url(int port) {
        return h2.jdbcUrl(DATABASE, port) + SETTINGS;
    }

    private static JdbcDataSource dataSource(int port) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url(port));
        ds.setUser("sa");
        ds.setPassword("");
        return ds;
    }

    /** The preparing client's XA connection and the logical handle it did the work on. */
    private static final class AutoCloseableXa implements AutoCloseable {
        final XAConnection xa;
        final Connection handle;

        AutoCloseableXa(XAConnection xa, Connection handle) {
            this.xa = xa;
            this.handle = handle;
        }

        @Override
        public void close() throws SQLException {
            xa.close();
        }
    }

    private static AutoCloseableXa prepareInsert(int port, Xid xid, int id) throws Exception {
        XAConnection xa = dataSource(port).getXAConnection();
        XAResource resource = xa.getXAResource();
        resource.start(xid, XAResource.TMNOFLAGS);
        Connection handle = xa.getConnection();
        try (Statement s = handle.createStatement()) {
            s.executeUpdate("INSERT INTO account VALUES (" + id + ", 'xa')");
        }
        resource.end(xid, XAResource.TMSUCCESS);
        assertThat(resource.prepare(xid)).isEqualTo(XAResource.XA_OK);
        return new AutoCloseableXa(xa, handle);
    }

    private static boolean rowExists(int id) throws SQLException {
        try (Connection c = dataSource(h2.port()).getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM account WHERE id = " + id)) {
            rs.next();
            return rs.getInt(1) == 1;
        }
    }

    /** The server notices a cut connection asynchronously: poll recover, bounded. */
    private static boolean awaitListed(PledgeXid xid) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (adapter.recover(TestXids.CLUSTER).ours().contains(xid)) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // the connection is already dead
        }
    }
}
