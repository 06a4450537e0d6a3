package dev.pledge.protocol;

import java.time.Instant;

public record BeginResponse(String txid, Instant deadline, int xidFormatId) {
}
