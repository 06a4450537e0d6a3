package dev.pledge.xa;

import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/** XIDs for tests: ours (cluster "c1"), another Pledge cluster's, and a foreign format's. */
final class TestXids {
    static final String CLUSTER = "c1";
    /** Atomikos' format id, as a stand-in for any other transaction manager. */
    static final int OTHER_FORMAT_ID = 4660;
    private static final AtomicLong SEQ = new AtomicLong(System.currentTimeMillis() % 1_000_000);

    private TestXids() {
    }

    static PledgeXid ours(String branch) {
        return XidCodec.encode(CLUSTER + ":1:" + SEQ.incrementAndGet(), branch);
    }

    static PledgeXid otherCluster(String branch) {
        return XidCodec.encode("c2:1:" + SEQ.incrementAndGet(), branch);
    }

    static Xid otherFormat() {
        return new ForeignXid(OTHER_FORMAT_ID, ("atomikos-tx-" + SEQ.incrementAndGet()).getBytes(StandardCharsets.US_ASCII),
                "branch-1".getBytes(StandardCharsets.US_ASCII));
    }

    /** A copy of any Xid as a plain ForeignXid, for comparing what recover returned with what was prepared. */
    static ForeignXid raw(Xid xid) {
        return ForeignXid.copyOf(xid);
    }
}
