package dev.pledge.xa;

import org.junit.jupiter.api.Test;

import javax.transaction.xa.Xid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class XidCodecTest {

    @Test
    void encodedXidDecodesBackForItsOwnCluster() {
        PledgeXid xid = XidCodec.encode("c1:7:1042", "orders-db:app-1:1");
        assertThat(xid.getFormatId()).isEqualTo(0x504C4447);
        assertThat(XidCodec.decode(copy(xid), "c1")).contains(xid);
    }

    @Test
    void anotherClustersXidIsForeign() {
        PledgeXid xid = XidCodec.encode("c2:7:1042", "b1");
        assertThat(XidCodec.decode(copy(xid), "c1")).isEmpty();
        // "c1" must not match a cluster whose name merely starts with it
        assertThat(XidCodec.decode(copy(XidCodec.encode("c10:1:1", "b1")), "c1")).isEmpty();
    }

    @Test
    void anotherFormatIdIsForeign() {
        Xid atomikos = new Xid() {
            public int getFormatId() { return 4660; }
            public byte[] getGlobalTransactionId() { return "c1:7:1042".getBytes(); }
            public byte[] getBranchQualifier() { return "b1".getBytes(); }
        };
        assertThat(XidCodec.decode(atomikos, "c1")).isEmpty();
    }

    @Test
    void malformedIdsAreRejectedWithTheReason() {
        assertThatThrownBy(() -> XidCodec.encode("C1:0:1", "b")).hasMessageContaining("not a Pledge txid");
        assertThatThrownBy(() -> XidCodec.encode("c1:1:1", "has space")).hasMessageContaining("invalid branch id");
        assertThatThrownBy(() -> XidCodec.encode("c1:1:1", "x".repeat(65))).hasMessageContaining("invalid branch id");
    }

    @Test
    void longestValidTxidAndBranchIdStayWithinTheGtridPlusBqualLimit() {
        // 52-byte txid + 64-byte branch id = 116 bytes: the 120-byte check is a backstop the other
        // limits already keep us under (PostgresXaAdapter tests check the resulting GID length)
        PledgeXid longest = XidCodec.encode("abcdefghijkl:1234567890123456789:1234567890123456789", "y".repeat(64));
        assertThat(longest.getGlobalTransactionId().length + longest.getBranchQualifier().length)
                .isLessThanOrEqualTo(XidCodec.MAX_GTRID_PLUS_BQUAL);
    }

    private static Xid copy(Xid x) {
        byte[] g = x.getGlobalTransactionId().clone();
        byte[] b = x.getBranchQualifier().clone();
        int f = x.getFormatId();
        return new Xid() {
            public int getFormatId() { return f; }
            public byte[] getGlobalTransactionId() { return g; }
            public byte[] getBranchQualifier() { return b; }
        };
    }
}
