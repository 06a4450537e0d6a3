package dev.pledge.samples.support;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The sample side of a crash test: the point between the coordinator's COMMITTED answer and the
 * participant's own phase 2, where the SDK has prepared every branch, learned the decision, and committed
 * none of them yet. Reached through {@link FailpointXAResource} (the first two-phase {@code commit} of a
 * branch in this JVM is exactly that point).
 *
 * <p>The SDK has no failpoint of its own yet; this stands in for one, from outside the SDK. It prints the
 * line the testkit's coordinator failpoints print ({@code FAILPOINT <name> REACHED pid=<pid> txid=<txid>})
 * and blocks the thread forever, so the test sends a real SIGKILL at exactly that point.
 */
public final class Failpoint {
    public static final String AFTER_DECISION = "sample.after-decision";

    private static final AtomicBoolean reached = new AtomicBoolean();

    private Failpoint() {
    }

    /** Pauses the calling thread for good (first caller only; later callers pause too, silently). */
    static void pause(String name, String txid) {
        if (reached.compareAndSet(false, true)) {
            System.out.println("FAILPOINT " + name + " REACHED pid=" + ProcessHandle.current().pid() + " txid=" + txid);
            System.out.flush();
        }
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // keep blocking: nothing past this point may run before the SIGKILL
            }
        }
    }
}
