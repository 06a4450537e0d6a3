package dev.pledge.xa;

import dev.pledge.testkit.EmbeddedPostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.transaction.xa.XAException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** PostgreSQL as installed: max_prepared_transactions = 0. */
class PostgresWithoutPreparedTransactionsTest {
    private static EmbeddedPostgresServer pg;

    @BeforeAll
    static void startPostgres() {
        pg = EmbeddedPostgresServer.start(0);
        pg.execute("CREATE TABLE account (id int PRIMARY KEY, note text)");
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        pg.close();
    }

    @Test
    void pingReportsMisconfiguredWithWhatToChange() {
        XaResourceAdapter adapter = XaResourceAdapters.create(new ResourceConfig("orders-db", "postgresql",
                pg.jdbcUrl(), EmbeddedPostgresServer.USER, ""));

        ResourceHealth health = adapter.ping();

        assertThat(health.status()).isEqualTo(ResourceHealth.Status.MISCONFIGURED);
        assertThat(health.message()).contains("orders-db").contains("max_prepared_transactions");
    }

    @Test
    void prepareFailsWithRmfailAndNothingIsWritten() throws Exception {
        PledgeXid xid = TestXids.ours("orders-db:app-1:1");

        assertThatThrownBy(() -> PostgresXaAdapterTest.prepareInsert(pg.jdbcUrl(), xid, 1))
                .isInstanceOfSatisfying(XAException.class, e -> {
                    assertThat(e.errorCode).as(XaErrors.codeName(e.errorCode)).isEqualTo(XAException.XAER_RMFAIL);
                    assertThat(e.getCause()).hasMessageContaining("prepared transactions are disabled");
                });
        try (Connection c = pg.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM account")) {
            rs.next();
            assertThat(rs.getInt(1)).isZero();
        }
    }
}
