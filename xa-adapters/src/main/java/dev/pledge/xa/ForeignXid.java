package dev.pledge.xa;

import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An XID found in a resource manager that is not this cluster's: another format id (Atomikos,
 * Narayana, ...) or another Pledge cluster. Kept as raw bytes so an operator can see it; the
 * coordinator never commits or rolls it back on its own (DESIGN.md §3).
 */
public final class ForeignXid implements Xid {
    private final int formatId;
    private final byte[] gtrid;
    private final byte[] bqual;

    public ForeignXid(int formatId, byte[] gtrid, byte[] bqual) {
        this.formatId = formatId;
        this.gtrid = gtrid == null ? new byte[0] : gtrid.clone();
        this.bqual = bqual == null ? new byte[0] : bqual.clone();
    }

    public static ForeignXid copyOf(Xid xid) {
        return new ForeignXid(xid.getFormatId(), xid.getGlobalTransactionId(), xid.getBranchQualifier());
    }

    @Override
    public int getFormatId() {
        return formatId;
    }

    @Override
    public byte[] getGlobalTransactionId() {
        return gtrid.clone();
    }

    @Override
    public byte[] getBranchQualifier() {
        return bqual.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ForeignXid other && formatId == other.formatId
                && Arrays.equals(gtrid, other.gtrid) && Arrays.equals(bqual, other.bqual);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * formatId + Arrays.hashCode(gtrid)) + Arrays.hashCode(bqual);
    }

    /** {@code formatId/gtrid/bqual}, each part as text when printable ASCII, else as hex. */
    @Override
    public String toString() {
        return "XID[" + formatId + "/" + show(gtrid) + "/" + show(bqual) + "]";
    }

    private static String show(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0x20 || b > 0x7e) {
                return "0x" + HexFormat.of().formatHex(bytes);
            }
        }
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
