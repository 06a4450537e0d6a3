package dev.pledge.xa;

import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** An XID in the Pledge format: formatId "PLDG", gtrid = txid, bqual = branch id (both ASCII). */
public record PledgeXid(String txid, String branchId) implements Xid {

    @Override
    public int getFormatId() {
        return XidCodec.FORMAT_ID;
    }

    @Override
    public byte[] getGlobalTransactionId() {
        return txid.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public byte[] getBranchQualifier() {
        return branchId.getBytes(StandardCharsets.US_ASCII);
    }

    /** True when {@code other} names the same branch, whatever its Xid class. */
    public boolean sameAs(Xid other) {
        return other != null && other.getFormatId() == XidCodec.FORMAT_ID
                && Arrays.equals(getGlobalTransactionId(), other.getGlobalTransactionId())
                && Arrays.equals(getBranchQualifier(), other.getBranchQualifier());
    }

    @Override
    public String toString() {
        return "PLDG[" + txid + "/" + branchId + "]";
    }
}
