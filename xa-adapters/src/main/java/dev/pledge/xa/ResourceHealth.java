package dev.pledge.xa;

import java.time.Duration;

/**
 * The result of {@link XaResourceAdapter#ping()}.
 *
 * @param latency time the check took
 * @param message null when UP; otherwise what is wrong and what to do
 */
public record ResourceHealth(String resource, Status status, Duration latency, String message) {

    public enum Status {
        /** Reachable and able to hold prepared branches. */
        UP,
        /** Reachable, but cannot take part in two-phase commit as configured (e.g. max_prepared_transactions = 0). */
        MISCONFIGURED,
        /** Not reachable within the bound. */
        DOWN
    }

    public boolean up() {
        return status == Status.UP;
    }
}
