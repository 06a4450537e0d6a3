package dev.pledge.coordinator.txn;

import dev.pledge.xa.XidCodec;

import java.util.regex.Matcher;

/** {@code <clusterId>:<epoch>:<seq>}; ordered within a cluster by (epoch, seq). */
public record Txid(String clusterId, long epoch, long seq) {

    /** Parses a txid; throws {@link TransactionException} (INVALID_TXID) naming the bad value. */
    public static Txid parse(String text) {
        Matcher m = text == null ? null : XidCodec.TXID.matcher(text);
        if (m == null || !m.matches()) {
            throw new TransactionException(TransactionException.Kind.INVALID_TXID, null,
                    "'" + abbreviate(text) + "' is not a Pledge txid: expected <clusterId>:<epoch>:<seq>, e.g. c1:7:1042");
        }
        try {
            return new Txid(m.group(1), Long.parseLong(m.group(2)), Long.parseLong(m.group(3)));
        } catch (NumberFormatException e) {
            throw new TransactionException(TransactionException.Kind.INVALID_TXID, null,
                    "'" + abbreviate(text) + "' is not a Pledge txid: epoch and sequence must fit a signed 64-bit number");
        }
    }

    @Override
    public String toString() {
        return clusterId + ":" + epoch + ":" + seq;
    }

    static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() <= 80 ? printable : printable.substring(0, 77) + "...";
    }
}
