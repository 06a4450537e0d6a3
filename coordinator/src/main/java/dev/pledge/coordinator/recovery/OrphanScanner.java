package dev.pledge.coordinator.recovery;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.failpoint.Failpoints;
import dev.pledge.coordinator.resources.ResourceRegistry;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.coordinator.txn.XaBridge;
import dev.pledge.xa.PledgeXid;
import dev.pledge.xa.ResourceDiagnostics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.transaction.xa.Xid;
import java.io.Closeable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scans every registered resource for prepared branches (XA recover) and classifies each one
 * (API.md): {@code ACTIVE} (its transaction is undecided: hands off), {@code COMMIT_PENDING} (a COMMIT
 * record exists), {@code ORPHAN_ROLLBACK_PENDING} (provably aborted), {@code FOREIGN} (not ours: never
 * touched) or {@code UNKNOWN} (this epoch's txid the engine does not know: an operator decides).
 *
 * <p>Acting scans commit COMMIT_PENDING branches the phase-2 driver does not own (e.g. a branch the
 * coordinator never heard of) and roll back orphans only under S5: our XID, no COMMIT record, the
 * transaction provably dead, and seen prepared in two scans at least the safety interval apart.
 */
public final class OrphanScanner implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(OrphanScanner.class);

    public enum Classification { ACTIVE, COMMIT_PENDING, ORPHAN_ROLLBACK_PENDING, FOREIGN, UNKNOWN }

    /** One prepared XID as the API shows it. */
    public record PreparedXid(Classification classification, int formatId, String gtrid, String bqual,
                              String txid, String branchId, Instant firstSeenAt, Duration age, String database,
                              String owner, List<ResourceDiagnostics.HeldLock> locks, String action) {
    }

    public record ScanReport(String resource, Instant scannedAt, List<PreparedXid> xids, String note) {
    }

    private final TransactionEngine engine;
    private final ResourceRegistry registry;
    private final PledgeProperties.Recovery settings;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    /** resource/txid/branchId -> when a scan first saw it prepared. */
    private final Map<String, Instant> firstSeen = new ConcurrentHashMap<>();
    private final AtomicLong orphanRollbacks = new AtomicLong();

    public OrphanScanner(TransactionEngine engine, ResourceRegistry registry, PledgeProperties props, Clock clock) {
        this.engine = engine;
        this.registry = registry;
        this.settings = props.recovery();
        this.clock = clock;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pledge-orphan-scanner");
            t.setDaemon(true);
            return t;
        });
    }

    /** Scans at start-up and then every {@code pledge.recovery.scan-interval}. */
    public void start() {
        if (!settings.enabled() || registry.names().isEmpty()) {
            return;
        }
        timer.scheduleWithFixedDelay(this::scanAllQuietly, 0, settings.scanInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    private void scanAllQuietly() {
        if (!engine.isLeading()) {
            return; // only a ready leader resolves anything (a follower's view of the log may lag)
        }
        for (String resource : registry.names()) {
            try {
                scan(resource, true);
            } catch (RuntimeException e) {
                log.warn("Recovery scan of resource {} failed: {}; the next scan is in {}", resource, e.getMessage(),
                        settings.scanInterval());
            }
        }
    }

    public long orphanRollbacks() {
        return orphanRollbacks.get();
    }

    /** Recovers and classifies the prepared XIDs of one resource; with {@code act}, resolves what S5 allows. */
    public ScanReport scan(String resource, boolean act) {
        ResourceDiagnostics diagnostics = registry.diagnostics(resource).join();
        Instant now = clock.instant();
        List<PreparedXid> result = new ArrayList<>();
        Set<String> seenNow = new HashSet<>();
        for (ResourceDiagnostics.PreparedBranch b : diagnostics.branches()) {
            Xid xid = b.xid();
            if (xid == null || !b.ours() || !(xid instanceof PledgeXid ours)) {
                result.add(view(Classification.FOREIGN, xid, null, null, null, b, "never touched without an operator"));
                continue;
            }
            String key = resource + "/" + ours.txid() + "/" + ours.branchId();
            seenNow.add(key);
            Instant first = firstSeen.computeIfAbsent(key, k -> now);
            TransactionEngine.Fate fate = engine.fateOf(ours.txid());
            boolean driven = engine.isDriving(ours.txid(), ours.branchId());
            Classification c;
            String action;
            switch (fate) {
                case IN_PROGRESS -> {
                    c = Classification.ACTIVE;
                    action = "left alone: its transaction is not decided";
                }
                case COMMITTED -> {
                    c = Classification.COMMIT_PENDING;
                    action = driven ? "phase 2 in progress" : act ? commit(resource, ours) : "to be committed";
                }
                case ABORTED -> {
                    c = Classification.ORPHAN_ROLLBACK_PENDING;
                    boolean twoScans = Duration.between(first, now).compareTo(settings.orphanSafetyInterval()) >= 0;
                    if (driven) {
                        action = "rollback in progress";
                    } else if (!twoScans) {
                        action = "to be rolled back once seen again after " + first.plus(settings.orphanSafetyInterval());
                    } else {
                        action = act ? rollbackOrphan(resource, ours) : "to be rolled back at the next scan";
                    }
                }
                default -> {
                    c = Classification.UNKNOWN;
                    action = "left alone: transaction " + ours.txid() + " is of this epoch but unknown here;"
                            + " resolve it with POST /api/v1/admin/heuristic";
                }
            }
            result.add(view(c, xid, ours.txid(), ours.branchId(), first, b, action));
        }
        firstSeen.keySet().removeIf(k -> k.startsWith(resource + "/") && !seenNow.contains(k));
        return new ScanReport(resource, now, result, diagnostics.note());
    }

    private String commit(String resource, PledgeXid xid) {
        XaBridge.Result r;
        try {
            r = registry.commit(resource, xid.txid(), xid.branchId()).join();
        } catch (RuntimeException e) {
            return "commit failed (" + rootMessage(e) + "); retried at the next scan";
        }
        log.info("Recovery committed branch {} of transaction {} at resource {} ({}): its COMMIT record is in the log",
                xid.branchId(), xid.txid(), resource, r);
        return "committed (" + r + ")";
    }

    private String rollbackOrphan(String resource, PledgeXid xid) {
        Failpoints.hit(Failpoints.DURING_ORPHAN_ROLLBACK, xid.txid());
        XaBridge.Result r;
        try {
            r = registry.rollback(resource, xid.txid(), xid.branchId()).join();
        } catch (RuntimeException e) {
            return "rollback failed (" + rootMessage(e) + "); retried at the next scan";
        }
        orphanRollbacks.incrementAndGet();
        log.warn("Recovery rolled back orphan branch {} of transaction {} at resource {} ({}): no COMMIT record and the"
                + " transaction is provably dead (S5)", xid.branchId(), xid.txid(), resource, r);
        return "rolled back (" + r + ")";
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    private static PreparedXid view(Classification c, Xid xid, String txid, String branchId, Instant first,
                                    ResourceDiagnostics.PreparedBranch b, String action) {
        Base64.Encoder b64 = Base64.getEncoder();
        return new PreparedXid(c, xid == null ? 0 : xid.getFormatId(),
                xid == null ? null : b64.encodeToString(xid.getGlobalTransactionId()),
                xid == null ? null : b64.encodeToString(xid.getBranchQualifier()),
                txid, branchId, first, b.age(), b.database(), b.owner(), b.locks(), action);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
