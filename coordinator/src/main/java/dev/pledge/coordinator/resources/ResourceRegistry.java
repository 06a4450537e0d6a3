package dev.pledge.coordinator.resources;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.txn.XaBridge;
import dev.pledge.xa.PhaseTwoResult;
import dev.pledge.xa.RecoveredXids;
import dev.pledge.xa.ResourceDiagnostics;
import dev.pledge.xa.ResourceConfig;
import dev.pledge.xa.ResourceHealth;
import dev.pledge.xa.XaResourceAdapter;
import dev.pledge.xa.XaResourceAdapters;
import dev.pledge.xa.XidCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.transaction.xa.Xid;
import java.io.Closeable;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Every resource manager from {@code pledge.resources.<name>.*}, each with its adapter and a small
 * bounded pool for its blocking XA calls (so one slow database cannot starve the others).
 */
public final class ResourceRegistry implements XaBridge, Closeable {
    private static final Logger log = LoggerFactory.getLogger(ResourceRegistry.class);
    /** XA calls in flight per resource: bounds the load recovery puts on one database. */
    static final int CALLS_PER_RESOURCE = 4;

    /** What the API shows about one resource. */
    public record Status(String name, String type, String url, ResourceHealth health, Instant checkedAt) {
    }

    private final String clusterId;
    private final Clock clock;
    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, Status> lastStatus = new ConcurrentHashMap<>();

    private record Entry(ResourceConfig config, XaResourceAdapter adapter, ExecutorService calls) {
    }

    public ResourceRegistry(PledgeProperties props, Clock clock) {
        this.clusterId = props.clusterId();
        this.clock = clock;
        props.resources().forEach((name, r) -> {
            if (!name.matches("[A-Za-z0-9._-]{1,64}")) {
                throw new IllegalArgumentException("pledge.resources." + name + ": resource names are 1-64 characters"
                        + " of [A-Za-z0-9._-], the same names participants register branches with");
            }
            ResourceConfig config = new ResourceConfig(name, r.type(), r.url(), r.user(), r.password());
            AtomicInteger n = new AtomicInteger();
            ExecutorService calls = Executors.newFixedThreadPool(CALLS_PER_RESOURCE, task -> {
                Thread t = new Thread(task, "pledge-xa-" + name + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            entries.put(name, new Entry(config, XaResourceAdapters.create(config), calls));
        });
        if (!entries.isEmpty()) {
            log.info("XA resources the coordinator can reach: {}", entries.keySet());
        }
    }

    public Collection<String> names() {
        return entries.keySet();
    }

    @Override
    public boolean canReach(String resource) {
        return entries.containsKey(resource);
    }

    @Override
    public CompletableFuture<Result> commit(String resource, String txid, String branchId) {
        return phaseTwo(resource, XidCodec.encode(txid, branchId), true);
    }

    @Override
    public CompletableFuture<Result> rollback(String resource, String txid, String branchId) {
        return phaseTwo(resource, XidCodec.encode(txid, branchId), false);
    }

    /** Commits any prepared XID, this cluster's or a foreign one (an operator's heuristic action). */
    public CompletableFuture<Result> commit(String resource, Xid xid) {
        return phaseTwo(resource, xid, true);
    }

    /** Rolls back any prepared XID, this cluster's or a foreign one (an operator's heuristic action). */
    public CompletableFuture<Result> rollback(String resource, Xid xid) {
        return phaseTwo(resource, xid, false);
    }

    /** XA forget: DONE, or NOT_FOUND when the resource holds no heuristic outcome for the XID. */
    public CompletableFuture<Result> forget(String resource, Xid xid) {
        return call(resource, xid, adapter -> adapter.forget(xid));
    }

    private CompletableFuture<Result> phaseTwo(String resource, Xid xid, boolean commit) {
        return call(resource, xid, adapter -> commit ? adapter.commit(xid) : adapter.rollback(xid));
    }

    private CompletableFuture<Result> call(String resource, Xid xid, Function<XaResourceAdapter, PhaseTwoResult> verb) {
        Entry e = entries.get(resource);
        if (e == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("resource '" + resource
                    + "' is not configured on this coordinator (pledge.resources." + resource + ".*)"));
        }
        return CompletableFuture.supplyAsync(() -> {
            PhaseTwoResult r = verb.apply(e.adapter());
            switch (r.outcome()) {
                case DONE:
                    return Result.DONE;
                case ALREADY_DONE_NOTA:
                    return Result.NOT_FOUND;
                case HEURISTIC_COMMIT:
                    return Result.HEURISTIC_COMMIT;
                case HEURISTIC_ROLLBACK:
                    return Result.HEURISTIC_ROLLBACK;
                case HEURISTIC_MIXED:
                case HEURISTIC_HAZARD:
                    return Result.HEURISTIC_MIXED;
                default:
                    throw new IllegalStateException(r.message() == null ? "resource '" + resource
                            + "' asked to retry (" + xid + ")" : r.message());
            }
        }, e.calls());
    }

    /** XA recover on one resource, off the caller's thread but within that resource's bound. */
    public CompletableFuture<RecoveredXids> recover(String resource) {
        Entry e = entries.get(resource);
        if (e == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("unknown resource " + resource));
        }
        return CompletableFuture.supplyAsync(() -> e.adapter().recover(clusterId), e.calls());
    }

    /** Prepared branches of one resource with what its resource manager tells about them. */
    public CompletableFuture<ResourceDiagnostics> diagnostics(String resource) {
        Entry e = entries.get(resource);
        if (e == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("unknown resource " + resource));
        }
        return CompletableFuture.supplyAsync(() -> e.adapter().diagnostics(clusterId), e.calls());
    }

    /** Pings every resource now and remembers the answers for {@link #statuses()}. */
    public List<Status> check() {
        List<CompletableFuture<Status>> pings = entries.values().stream()
                .map(e -> CompletableFuture.supplyAsync(() -> status(e, e.adapter().ping()), e.calls())
                        .exceptionally(t -> status(e, new ResourceHealth(e.config().name(), ResourceHealth.Status.DOWN,
                                null, String.valueOf(t.getCause() != null ? t.getCause().getMessage() : t.getMessage())))))
                .toList();
        return pings.stream().map(CompletableFuture::join).toList();
    }

    private Status status(Entry e, ResourceHealth health) {
        Status s = new Status(e.config().name(), e.config().type(), e.config().url(), health, clock.instant());
        lastStatus.put(s.name(), s);
        return s;
    }

    /** The last known status of every resource (pinging those never checked). */
    public List<Status> statuses() {
        if (lastStatus.size() < entries.size()) {
            return check();
        }
        return entries.keySet().stream().map(lastStatus::get).toList();
    }

    @Override
    public void close() {
        entries.values().forEach(e -> e.calls().shutdownNow());
    }
}
