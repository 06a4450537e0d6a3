package dev.pledge.coordinator.failpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Named points in the protocol where a crash test makes this process die (DESIGN.md §9).
 * Armed only by the {@code pledge.failpoint.*} properties; unarmed, {@link #hit} is one volatile read.
 *
 * <p>HALT calls {@code Runtime.halt} (no shutdown hooks: as abrupt as SIGKILL). PAUSE prints
 * {@code FAILPOINT <name> REACHED pid=<pid> txid=<txid>} on stdout and blocks the thread forever, so a test can
 * send a real SIGKILL at exactly that point.
 */
public final class Failpoints {
    private static final Logger log = LoggerFactory.getLogger(Failpoints.class);

    public static final String BEFORE_PREPARE = "coordinator.before-prepare";
    public static final String AFTER_PREPARE = "coordinator.after-prepare";
    public static final String BEFORE_COMMIT_APPEND = "coordinator.before-commit-append";
    public static final String AFTER_COMMIT_APPEND = "coordinator.after-commit-append";
    public static final String BEFORE_REPLY = "coordinator.before-reply";
    public static final String BETWEEN_BRANCH_COMMITS = "coordinator.between-branch-commits";
    public static final String BEFORE_COMPLETED = "coordinator.before-completed";
    public static final String DURING_ORPHAN_ROLLBACK = "coordinator.during-orphan-rollback";

    public static final List<String> ALL = List.of(BEFORE_PREPARE, AFTER_PREPARE, BEFORE_COMMIT_APPEND,
            AFTER_COMMIT_APPEND, BEFORE_REPLY, BETWEEN_BRANCH_COMMITS, BEFORE_COMPLETED, DURING_ORPHAN_ROLLBACK);

    public enum Action { HALT, PAUSE }

    private static volatile String armed = "";
    private static volatile Action action = Action.HALT;
    private static final AtomicInteger skip = new AtomicInteger();

    private Failpoints() {
    }

    /** Arms one failpoint; an unknown name is refused so a typo cannot make a crash test pass vacuously. */
    public static void arm(String name, Action how, int skipHits) {
        if (name == null || name.isEmpty()) {
            armed = "";
            return;
        }
        if (!ALL.contains(name)) {
            throw new IllegalArgumentException("pledge.failpoint.name='" + name + "' is not a failpoint; known: " + ALL);
        }
        action = how;
        skip.set(skipHits);
        armed = name;
        log.warn("Failpoint {} armed ({}, after {} hits): this process will die there. Never use this in production.",
                name, how, skipHits);
    }

    public static void hit(String name) {
        hit(name, null);
    }

    /** Like {@link #hit(String)}, naming the transaction in the line a test reads. */
    public static void hit(String name, String txid) {
        if (!armed.equals(name)) {
            return;
        }
        if (skip.getAndDecrement() > 0) {
            return;
        }
        long pid = ProcessHandle.current().pid();
        System.out.println("FAILPOINT " + name + " REACHED pid=" + pid + (txid == null ? "" : " txid=" + txid));
        System.out.flush();
        if (action == Action.HALT) {
            Runtime.getRuntime().halt(137);
        }
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                // keep blocking: the point of PAUSE is that nothing past this line runs
            }
        }
    }
}
