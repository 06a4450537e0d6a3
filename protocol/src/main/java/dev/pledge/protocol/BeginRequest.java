package dev.pledge.protocol;

/** {@code POST /api/v1/transactions}; both fields optional. */
public record BeginRequest(Long timeoutMs, String label) {
}
