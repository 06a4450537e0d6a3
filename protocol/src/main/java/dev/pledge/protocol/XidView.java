package dev.pledge.protocol;

/** An XID as JSON: gtrid and bqual base64-encoded. */
public record XidView(int formatId, String gtrid, String bqual) {
}
