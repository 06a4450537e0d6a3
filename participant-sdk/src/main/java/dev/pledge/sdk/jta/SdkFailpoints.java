package dev.pledge.sdk.jta;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named points in the SDK's commit path where a crash test makes the application die
 * (DESIGN.md §9). Armed only by the system properties {@code pledge.failpoint.name},
 * {@code pledge.failpoint.action} (HALT or PAUSE) and {@code pledge.failpoint.skip}; unarmed,
 * {@link #hit} is one volatile read. PAUSE prints {@code FAILPOINT <name> REACHED pid=<pid> txid=<txid>}
 * and blocks, so a test can SIGKILL the process at exactly that point.
 */
public final class SdkFailpoints {
    public static final String BEFORE_PREPARE = "sdk.before-prepare";
    public static final String AFTER_PREPARE = "sdk.after-prepare";
    public static final String AFTER_DECISION = "sdk.after-decision";
    public static final String BETWEEN_LOCAL_COMMITS = "sdk.between-local-commits";
    public static final List<String> ALL = List.of(BEFORE_PREPARE, AFTER_PREPARE, AFTER_DECISION, BETWEEN_LOCAL_COMMITS);

    private static volatile String armed = System.getProperty("pledge.failpoint.name", "");
    private static final boolean PAUSE = "PAUSE".equalsIgnoreCase(System.getProperty("pledge.failpoint.action", "HALT"));
    private static final AtomicInteger SKIP = new AtomicInteger(Integer.getInteger("pledge.failpoint.skip", 0));

    static {
        if (!armed.isEmpty() && !ALL.contains(armed) && !armed.startsWith("coordinator.")) {
            throw new IllegalArgumentException("pledge.failpoint.name='" + armed + "' is not an SDK failpoint; known: " + ALL);
        }
    }

    private SdkFailpoints() {
    }

    public static void hit(String name, String txid) {
        if (!armed.equals(name) || SKIP.getAndDecrement() > 0) {
            return;
        }
        System.out.println("FAILPOINT " + name + " REACHED pid=" + ProcessHandle.current().pid()
                + (txid == null ? "" : " txid=" + txid));
        System.out.flush();
        if (!PAUSE) {
            Runtime.getRuntime().halt(137);
        }
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // keep blocking: nothing past this point may run
            }
        }
    }
}
