package dev.pledge.xa;

import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Encodes and decodes Pledge XIDs (DESIGN.md §3). gtrid + bqual stay under
 * {@link #MAX_GTRID_PLUS_BQUAL} bytes because PostgreSQL limits its GID to 200 characters and pgjdbc
 * writes formatId_base64(gtrid)_base64(bqual).
 */
public final class XidCodec {
    /** "PLDG" in ASCII. */
    public static final int FORMAT_ID = 0x504C4447;
    public static final int MAX_GTRID_PLUS_BQUAL = 120;
    public static final int MAX_BRANCH_ID_LENGTH = 64;

    /** {@code <clusterId>:<epoch>:<seq>}: clusterId [a-z0-9-]{1,12}, epoch and seq positive longs. */
    public static final Pattern TXID = Pattern.compile("([a-z0-9-]{1,12}):([1-9][0-9]{0,18}):([1-9][0-9]{0,18})");
    /** Branch ids: printable ASCII without spaces or slashes, so they fit URLs and GIDs unescaped. */
    public static final Pattern BRANCH_ID = Pattern.compile("[A-Za-z0-9._:@-]{1," + MAX_BRANCH_ID_LENGTH + "}");

    private XidCodec() {
    }

    public static boolean isValidTxid(String txid) {
        return txid != null && TXID.matcher(txid).matches();
    }

    public static boolean isValidBranchId(String branchId) {
        return branchId != null && BRANCH_ID.matcher(branchId).matches();
    }

    /** The XID of a branch; rejects ids that would not survive a round trip through a resource manager. */
    public static PledgeXid encode(String txid, String branchId) {
        if (!isValidTxid(txid)) {
            throw new IllegalArgumentException("not a Pledge txid: '" + txid + "' (expected <clusterId>:<epoch>:<seq>)");
        }
        if (!isValidBranchId(branchId)) {
            throw new IllegalArgumentException("invalid branch id '" + branchId + "' in transaction " + txid
                    + ": use 1-" + MAX_BRANCH_ID_LENGTH + " characters of [A-Za-z0-9._:@-]");
        }
        if (txid.length() + branchId.length() > MAX_GTRID_PLUS_BQUAL) {
            throw new IllegalArgumentException("txid + branch id of " + txid + "/" + branchId + " exceed "
                    + MAX_GTRID_PLUS_BQUAL + " bytes: shorten the branch id");
        }
        return new PledgeXid(txid, branchId);
    }

    /**
     * Decodes an XID found in a resource manager. Empty for every XID that is not ours: another
     * format id, bytes that are not a Pledge txid/branch id, or another cluster's txid.
     */
    public static Optional<PledgeXid> decode(Xid xid, String clusterId) {
        if (xid == null || xid.getFormatId() != FORMAT_ID) {
            return Optional.empty();
        }
        String txid = ascii(xid.getGlobalTransactionId());
        String branchId = ascii(xid.getBranchQualifier());
        if (txid == null || branchId == null || !isValidTxid(txid) || !isValidBranchId(branchId)) {
            return Optional.empty();
        }
        if (clusterId != null && !txid.startsWith(clusterId + ":")) {
            return Optional.empty();
        }
        return Optional.of(new PledgeXid(txid, branchId));
    }

    private static String ascii(byte[] bytes) {
        if (bytes == null || bytes.length == 0 || bytes.length > Xid.MAXGTRIDSIZE) {
            return null;
        }
        for (byte b : bytes) {
            if (b < 0x21 || b > 0x7e) {
                return null;
            }
        }
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
