package dev.pledge.samples.support;

import java.time.Duration;
import java.util.Optional;

/**
 * CPU time used by the processes of a test run, to say where a benchmark's time went on a shared machine:
 * this JVM (the sample application), the coordinator's JVM, and every PostgreSQL process (server and
 * backends). Measured by the operating system; a process that ended in between is not counted.
 */
public record CpuTime(Duration self, Duration coordinator, Duration postgres) {

    /** Now; {@code coordinatorPid} may be -1 (none). */
    public static CpuTime now(long coordinatorPid) {
        Duration self = cpu(ProcessHandle.current());
        Duration coordinator = coordinatorPid < 0 ? Duration.ZERO
                : ProcessHandle.of(coordinatorPid).map(CpuTime::cpu).orElse(Duration.ZERO);
        Duration postgres = ProcessHandle.allProcesses()
                .filter(p -> p.info().command().map(c -> c.endsWith("/bin/postgres")).orElse(false))
                .map(CpuTime::cpu)
                .reduce(Duration.ZERO, Duration::plus);
        return new CpuTime(self, coordinator, postgres);
    }

    private static Duration cpu(ProcessHandle p) {
        Optional<Duration> d = p.info().totalCpuDuration();
        return d.orElse(Duration.ZERO);
    }

    /** What was used since {@code before}, per transaction, e.g. "CPU per transaction: app 1.20 ms, ...". */
    public String perTransactionSince(CpuTime before, long transactions) {
        double n = Math.max(1, transactions);
        return String.format("CPU per transaction: application %.2f ms, coordinator %.2f ms, PostgreSQL %.2f ms",
                ms(self.minus(before.self)) / n, ms(coordinator.minus(before.coordinator)) / n,
                ms(postgres.minus(before.postgres)) / n);
    }

    private static double ms(Duration d) {
        return d.toNanos() / 1e6;
    }
}
