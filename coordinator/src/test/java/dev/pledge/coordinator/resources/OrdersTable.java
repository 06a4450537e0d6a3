package dev.pledge.coordinator.resources;

import dev.pledge.testkit.EmbeddedPostgresServer;
import dev.pledge.xa.ForeignXid;
import dev.pledge.xa.XidCodec;
import org.postgresql.xa.PGXADataSource;

import javax.sql.XAConnection;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An {@code orders} table in a real PostgreSQL and what an application leaves in it: rows inserted in
 * XA branches that were prepared and then abandoned (the application is gone, only the prepared
 * branch is left), with our XIDs or a foreign one.
 */
final class OrdersTable {
    /** The foreign XID {@link #prepareForeign} uses: another transaction manager's format id and bytes. */
    static final Xid FOREIGN_XID = new ForeignXid(4660, "atomikos-tx".getBytes(StandardCharsets.US_ASCII),
            "b".getBytes(StandardCharsets.US_ASCII));

    private OrdersTable() {
    }

    static void create(EmbeddedPostgresServer pg) throws Exception {
        pg.execute("CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY)");
    }

    /** Does the application's part: inserts a row inside an XA branch with our XID and prepares it. */
    static void prepareInsert(EmbeddedPostgresServer pg, String txid, String branchId, String orderId) throws Exception {
        prepareInsert(pg, XidCodec.encode(txid, branchId), orderId);
    }

    /** The same with {@link #FOREIGN_XID}, as another transaction manager would leave it. */
    static void prepareForeign(EmbeddedPostgresServer pg, String orderId) throws Exception {
        prepareInsert(pg, FOREIGN_XID, orderId);
    }

    private static void prepareInsert(EmbeddedPostgresServer pg, Xid xid, String orderId) throws Exception {
        PGXADataSource ds = new PGXADataSource();
        ds.setUrl(pg.jdbcUrl());
        ds.setUser(EmbeddedPostgresServer.USER);
        XAConnection xa = ds.getXAConnection();
        try {
            XAResource res = xa.getXAResource();
            res.start(xid, XAResource.TMNOFLAGS);
            try (Statement st = xa.getConnection().createStatement()) {
                st.executeUpdate("INSERT INTO orders VALUES ('" + orderId + "')");
            }
            res.end(xid, XAResource.TMSUCCESS);
            assertThat(res.prepare(xid)).isEqualTo(XAResource.XA_OK);
        } finally {
            xa.close(); // the application is gone: only the prepared branch is left
        }
    }

    static boolean rowExists(EmbeddedPostgresServer pg, String orderId) throws Exception {
        return count(pg, "SELECT count(*) FROM orders WHERE id = '" + orderId + "'") == 1;
    }

    static int preparedCount(EmbeddedPostgresServer pg) throws Exception {
        return count(pg, "SELECT count(*) FROM pg_prepared_xacts");
    }

    static boolean isPrepared(EmbeddedPostgresServer pg, Xid xid) throws Exception {
        return count(pg, "SELECT count(*) FROM pg_prepared_xacts WHERE gid = '" + gid(xid) + "'") == 1;
    }

    private static int count(EmbeddedPostgresServer pg, String sql) throws Exception {
        try (Connection c = pg.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** pgjdbc's GID for an XID: formatId_base64(gtrid)_base64(bqual). */
    static String gid(Xid xid) {
        Base64.Encoder b64 = Base64.getEncoder();
        return xid.getFormatId() + "_" + b64.encodeToString(xid.getGlobalTransactionId()) + "_"
                + b64.encodeToString(xid.getBranchQualifier());
    }

    static String gid(String txid, String branchId) {
        return gid(XidCodec.encode(txid, branchId));
    }
}
