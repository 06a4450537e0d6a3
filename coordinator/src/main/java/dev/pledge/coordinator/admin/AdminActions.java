package dev.pledge.coordinator.admin;

import dev.pledge.coordinator.api.ApiException;
import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.coordinator.resources.ResourceRegistry;
import dev.pledge.coordinator.txn.OperatorAction;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.coordinator.txn.TransactionSnapshot;
import dev.pledge.coordinator.txn.XaBridge;
import dev.pledge.protocol.ProblemTypes;
import dev.pledge.protocol.XidView;
import dev.pledge.xa.ForeignXid;
import dev.pledge.xa.PledgeXid;
import dev.pledge.xa.XidCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;

import javax.transaction.xa.Xid;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Heuristic actions on one prepared branch (API.md {@code POST /api/v1/admin/heuristic}) and the audit
 * trail of every heuristic and admin action ({@code GET /api/v1/admin/audit}).
 *
 * <p>An action is checked against what the log recorded before anything is done: one that would go
 * against a recorded decision (roll back a branch of a committed transaction, commit one of an aborted
 * transaction, abandon a branch phase 2 is still finishing) is refused unless the operator forces it,
 * and one on a transaction still being decided is always refused. An accepted action is written to the
 * decision log (forced) before it runs and again with its result after; a branch that phase 2 is
 * driving takes the state the action left it in, which a restarted coordinator replays from the log.
 * Actions run one at a time.
 */
public final class AdminActions {
    private static final Logger log = LoggerFactory.getLogger(AdminActions.class);
    static final int MAX_REASON_CHARS = 1000;
    /** Longer than the adapters' own bounds (connect 5 s + one XA verb 30 s). */
    private static final long RESOURCE_CALL_SECONDS = 60;
    private static final Pattern RESOURCE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /** The request body of {@code POST /api/v1/admin/heuristic}: an XID, or a txid and branch id. */
    public record HeuristicRequest(String resource, XidView xid, String txid, String branchId, String action,
                                   String reason, Boolean force) {
    }

    /** One audited action. {@code outcome} and {@code finishedAt} are null until its result is recorded. */
    public record AuditEntry(String id, String action, String resource, String txid, String branchId, XidView xid,
                             String operator, String reason, boolean force, Instant requestedAt, String outcome,
                             Instant finishedAt) {
    }

    /** What a heuristic action did: its audit entry, the transaction as it is now (if held), a warning. */
    public record Done(AuditEntry entry, TransactionSnapshot transaction, String warning) {
    }

    public record AuditPage(List<AuditEntry> items, String nextCursor) {
    }

    private final TransactionEngine engine;
    private final DecisionLog decisionLog;
    private final ResourceRegistry resources;
    private final PledgeProperties props;
    private final Clock clock;
    private final ReentrantLock oneAtATime = new ReentrantLock();
    private final java.util.concurrent.atomic.AtomicLong heuristicActions = new java.util.concurrent.atomic.AtomicLong();

    public AdminActions(TransactionEngine engine, DecisionLog decisionLog, ResourceRegistry resources,
                        PledgeProperties props, Clock clock) {
        this.engine = engine;
        this.decisionLog = decisionLog;
        this.resources = resources;
        this.props = props;
        this.clock = clock;
    }

    /** Heuristic actions recorded and started since this coordinator started (a metric). */
    public long heuristicActions() {
        return heuristicActions.get();
    }

    /** The branch an action is about, resolved from the request. {@code txid} is null for a foreign XID. */
    private record Target(Xid xid, String txid, String branchId, String resource, TransactionEngine.OperatorView view) {
        String describe() {
            return txid != null ? "branch " + branchId + " of transaction " + txid + " at resource '" + resource + "'"
                    : "foreign XID " + xid + " at resource '" + resource + "'";
        }
    }

    public Done heuristic(HeuristicRequest request, String operator) {
        if (request == null) {
            throw malformed("the body must be a JSON object with resource, xid (or txid and branchId), action and reason");
        }
        OperatorAction action = OperatorAction.parse(request.action()).orElseThrow(() -> malformed(
                "action is " + quote(request.action()) + ": use COMMIT, ROLLBACK or FORGET"));
        String reason = request.reason() == null ? "" : request.reason().strip();
        if (reason.isEmpty()) {
            throw malformed("reason is required: say why this " + action + " is right (ticket, what was checked),"
                    + " it is kept in the audit log");
        }
        if (reason.codePoints().anyMatch(cp -> cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE)) {
            throw malformed("reason holds an unpaired UTF-16 surrogate (a broken \\uD8xx escape): send valid text");
        }
        if (reason.length() > MAX_REASON_CHARS) {
            throw malformed("reason is " + reason.length() + " characters; at most " + MAX_REASON_CHARS
                    + " are kept: link to the ticket instead");
        }
        boolean force = Boolean.TRUE.equals(request.force());
        if (!engine.isLeading()) {
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.NO_LEADER, "No leader",
                    "this coordinator is not the ready leader, so it cannot check the action against the decision log:"
                            + " send it to the leader named by GET /api/v1/cluster");
        }
        Target target = target(request, action);
        refuseIfRisky(target, action, force);
        return execute(target, action, reason, force, operator);
    }

    private Target target(HeuristicRequest request, OperatorAction action) {
        boolean byTxid = request.txid() != null || request.branchId() != null;
        if (byTxid == (request.xid() != null)) {
            throw malformed("name the branch either by \"xid\": {formatId, gtrid, bqual} (as GET /api/v1/resources/"
                    + "{name}/prepared lists it) or by \"txid\" and \"branchId\", not both and not neither");
        }
        String resource = request.resource();
        if (resource != null && !RESOURCE_NAME.matcher(resource).matches()) {
            throw malformed("resource " + quote(resource) + " is not a resource name (1-64 of [A-Za-z0-9._-])");
        }
        Xid xid;
        if (byTxid) {
            if (request.txid() == null || !XidCodec.isValidTxid(request.txid())) {
                throw new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.INVALID_TXID, "Invalid txid", "txid "
                        + quote(request.txid()) + " is not a Pledge txid (<clusterId>:<epoch>:<seq>): copy it from"
                        + " GET /api/v1/in-doubt or the prepared listing");
            }
            if (request.branchId() == null || !XidCodec.isValidBranchId(request.branchId())) {
                throw new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.INVALID_BRANCH, "Invalid branch", "branchId "
                        + quote(request.branchId()) + " of transaction " + request.txid() + " is not a branch id:"
                        + " copy it from GET /api/v1/transactions/" + request.txid());
            }
            try {
                xid = XidCodec.encode(request.txid(), request.branchId());
            } catch (IllegalArgumentException e) {
                throw malformed(e.getMessage());
            }
        } else {
            xid = decodeXid(request.xid());
        }
        Optional<PledgeXid> ours = XidCodec.decode(xid, props.clusterId());
        if (byTxid && ours.isEmpty()) {
            throw new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.INVALID_TXID, "Invalid txid", "transaction "
                    + request.txid() + " belongs to another cluster, not to '" + props.clusterId() + "': act on it"
                    + " through its own coordinator, or name its XID to treat it as foreign");
        }
        String txid = ours.map(PledgeXid::txid).orElse(null);
        String branchId = ours.map(PledgeXid::branchId).orElse(null);
        TransactionEngine.OperatorView view = txid == null ? null : engine.operatorView(txid, branchId);
        String held = view == null ? null : view.resource();
        if (resource == null) {
            resource = held;
        } else if (held != null && !held.equals(resource)) {
            throw malformed("branch " + branchId + " of transaction " + txid + " is at resource '" + held + "', not '"
                    + resource + "': leave resource out or name '" + held + "'");
        }
        if (resource == null) {
            throw malformed("resource is required: this coordinator holds no branch " + (txid == null ? "for that XID"
                    : branchId + " of transaction " + txid) + ", so name the resource where it is prepared");
        }
        boolean reachable = resources.canReach(resource);
        boolean coordinatorOnlyForget = action == OperatorAction.FORGET && held != null;
        if (!reachable && !coordinatorOnlyForget) {
            throw new ApiException(HttpStatus.NOT_FOUND, ProblemTypes.RESOURCE_NOT_FOUND, "Resource not found",
                    "no resource '" + resource + "' is configured on this coordinator, so it cannot " + action
                            + " a branch there; known: " + resources.names() + " (pledge.resources.<name>.*)");
        }
        return new Target(ours.isPresent() ? ours.get() : xid, txid, branchId, resource, view);
    }

    private static Xid decodeXid(XidView view) {
        byte[] gtrid;
        byte[] bqual;
        try {
            gtrid = view.gtrid() == null ? null : Base64.getDecoder().decode(view.gtrid());
            bqual = view.bqual() == null ? new byte[0] : Base64.getDecoder().decode(view.bqual());
        } catch (IllegalArgumentException e) {
            throw malformed("xid.gtrid and xid.bqual must be base64, as GET /api/v1/resources/{name}/prepared"
                    + " lists them: " + e.getMessage());
        }
        if (gtrid == null || gtrid.length == 0 || gtrid.length > Xid.MAXGTRIDSIZE || bqual.length > Xid.MAXBQUALSIZE) {
            throw malformed("xid.gtrid must be 1-" + Xid.MAXGTRIDSIZE + " bytes and xid.bqual at most "
                    + Xid.MAXBQUALSIZE + " bytes (XA limits)");
        }
        return new ForeignXid(view.formatId(), gtrid, bqual);
    }

    /** Refuses what would go against the recorded decision (409) unless forced; never acts on an undecided one. */
    private void refuseIfRisky(Target target, OperatorAction action, boolean force) {
        if (target.txid == null) {
            return; // a foreign XID: no decision of ours to contradict
        }
        TransactionEngine.OperatorView view = target.view;
        String risk = switch (view.fate()) {
            case IN_PROGRESS -> throw conflict(target, "transaction " + target.txid + " is not decided yet (" + view.txState()
                    + "): this coordinator decides it and then finishes every branch. Wait for the decision, or roll the"
                    + " whole transaction back with POST /api/v1/transactions/" + target.txid + "/rollback; no force"
                    + " overrides this", false);
            case COMMITTED -> action == OperatorAction.ROLLBACK ? "transaction " + target.txid + " has a COMMIT record,"
                    + " so its other branches commit: rolling back " + target.describe() + " would leave it"
                    + " HEURISTIC_MIXED" : null;
            case ABORTED -> action == OperatorAction.COMMIT ? "transaction " + target.txid + " is aborted (no COMMIT"
                    + " record), so its other branches roll back: committing " + target.describe() + " would leave it"
                    + " HEURISTIC_MIXED" : null;
            case UNKNOWN -> null;
        };
        if (risk == null && action == OperatorAction.FORGET && view.branchState() != null
                && !view.branchState().isFinished()) {
            risk = "phase 2 is still finishing " + target.describe() + " ("
                    + view.branchState() + "): forgetting it stops that, and nobody will know whether it committed";
        }
        if (risk != null && !force) {
            throw conflict(target, risk + ". If the data at '" + target.resource + "' has been checked and this is"
                    + " what you want, send the same request with \"force\": true", true);
        }
    }

    private Done execute(Target target, OperatorAction action, String reason, boolean force, String operator) {
        String id = UUID.randomUUID().toString();
        String xidText = target.txid == null ? xidText(target.xid) : null;
        Instant requestedAt = clock.instant();
        LogRecord.Heuristic intent = new LogRecord.Heuristic(id, target.txid, target.branchId, target.resource, xidText,
                action.name(), operator, reason, force, requestedAt.toEpochMilli(), null);
        lock(target);
        try {
            Optional<String> notWritten = append(intent);
            if (notWritten.isPresent()) {
                throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.OUTCOME_UNKNOWN, "Action not recorded",
                        "the heuristic " + action + " of " + target.describe() + " could not be written to the decision"
                                + " log (" + notWritten.get() + "), so nothing was done at the resource. Check"
                                + " GET /actuator/health and send the request again");
            }
            heuristicActions.incrementAndGet();
            log.warn("Operator {} requested heuristic {} of {}{} (action {}): {}", operator, action, target.describe(),
                    force ? ", forced" : "", id, reason);
            String outcome;
            try {
                outcome = OperatorAction.outcomeOf(run(target, action));
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                outcome = OperatorAction.failedOutcome(rootMessage(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                outcome = OperatorAction.failedOutcome("interrupted while waiting for resource '" + target.resource + "'");
            }
            Optional<String> failure = OperatorAction.failure(outcome);
            TransactionSnapshot tx = target.txid == null ? null : engine.settleByOperator(target.txid, target.branchId,
                    action, outcome, "operator " + operator + ": heuristic " + action + " -> " + outcome + " (" + reason
                            + "), action " + id);
            Instant finishedAt = clock.instant();
            LogRecord.Heuristic done = new LogRecord.Heuristic(id, target.txid, target.branchId, target.resource,
                    xidText, action.name(), operator, reason, force, finishedAt.toEpochMilli(), outcome);
            Optional<String> resultNotWritten = append(done);
            log.warn("Heuristic {} of {} by {} (action {}) ended {}", action, target.describe(), operator, id, outcome);
            if (failure.isPresent()) {
                throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.RESOURCE_UNREACHABLE,
                        "Resource unreachable", "the heuristic " + action + " of " + target.describe() + " did not"
                        + " complete: " + failure.get() + ". Nothing is known to have changed"
                        + " there; it is audit entry " + id + ". Check that '" + target.resource + "' is up, then send"
                        + " the request again");
            }
            String warning = resultNotWritten.map(why -> "the action was done, but its result could not be written to"
                    + " the decision log (" + why + "): the audit log shows it without a result, and a restarted"
                    + " coordinator drives the branch as the decision says").orElse(null);
            return new Done(entry(intent, done), tx, warning);
        } finally {
            oneAtATime.unlock();
        }
    }

    private void lock(Target target) {
        try {
            if (!oneAtATime.tryLock(RESOURCE_CALL_SECONDS, TimeUnit.SECONDS)) {
                throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.LIMIT_EXCEEDED, "Busy",
                        "another heuristic action has been running for over " + RESOURCE_CALL_SECONDS + " s, so the"
                                + " action on " + target.describe() + " was not started: see GET /api/v1/admin/audit"
                                + " and send it again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.LIMIT_EXCEEDED, "Busy",
                    "interrupted before the action on " + target.describe() + " started; nothing was done");
        }
    }

    /** The resource's answer, or null for a FORGET of a branch at a resource the coordinator cannot reach. */
    private XaBridge.Result run(Target target, OperatorAction action)
            throws ExecutionException, InterruptedException, TimeoutException {
        if (action == OperatorAction.FORGET && !resources.canReach(target.resource)) {
            return null;
        }
        CompletableFuture<XaBridge.Result> call = switch (action) {
            case COMMIT -> resources.commit(target.resource, target.xid);
            case ROLLBACK -> resources.rollback(target.resource, target.xid);
            case FORGET -> resources.forget(target.resource, target.xid);
        };
        return call.get(RESOURCE_CALL_SECONDS, TimeUnit.SECONDS);
    }

    /** Writes an audit record (forced); empty when durable, else why not. */
    private Optional<String> append(LogRecord.Heuristic record) {
        try {
            decisionLog.appendInEpoch(record, engine.epoch())
                    .get(props.phaseTwo().appendTimeout().toMillis(), TimeUnit.MILLISECONDS);
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("interrupted");
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            return Optional.of(e instanceof TimeoutException ? "not durable within " + props.phaseTwo().appendTimeout()
                    : rootMessage(e));
        }
    }

    /** Records an admin action that needs no intent record (it changes no outcome), e.g. a phase-2 retry. */
    public void recordAdminAction(String action, String txid, String operator, String outcome) {
        LogRecord.Heuristic record = new LogRecord.Heuristic(UUID.randomUUID().toString(), txid, null, null, null,
                action, operator, null, false, clock.millis(), outcome);
        append(record).ifPresent(why -> log.warn("Admin action {} on {} by {} was done but not written to the audit"
                + " log: {}", action, txid, operator, why));
    }

    /** Audited actions, newest first, {@code limit} per page, after the entry whose id is {@code cursor}. */
    public AuditPage audit(int limit, String cursor) {
        Map<String, LogRecord.Heuristic[]> byId = new LinkedHashMap<>();
        int unnamed = 0;
        for (LogRecord.Heuristic h : decisionLog.table().heuristics()) {
            String key = h.id() != null ? h.id() : "v1-" + unnamed++;
            LogRecord.Heuristic[] pair = byId.computeIfAbsent(key, k -> new LogRecord.Heuristic[2]);
            pair[h.isIntent() ? 0 : 1] = h;
        }
        List<AuditEntry> newestFirst = new ArrayList<>(byId.size());
        byId.forEach((key, pair) -> newestFirst.add(0, entry(pair[0], pair[1])));
        int start = 0;
        if (cursor != null) {
            start = -1;
            for (int i = 0; i < newestFirst.size(); i++) {
                if (cursor.equals(newestFirst.get(i).id())) {
                    start = i + 1;
                }
            }
            if (start < 0) {
                throw malformed("cursor " + quote(cursor) + " is not the id of an audit entry: use the nextCursor of"
                        + " the previous page, or leave it out to start from the newest");
            }
        }
        int end = Math.min(newestFirst.size(), start + limit);
        String next = end < newestFirst.size() ? newestFirst.get(end - 1).id() : null;
        return new AuditPage(List.copyOf(newestFirst.subList(start, end)), next);
    }

    private static AuditEntry entry(LogRecord.Heuristic intent, LogRecord.Heuristic result) {
        LogRecord.Heuristic first = intent != null ? intent : result;
        return new AuditEntry(first.id(), first.action(), first.resource(), first.txid(), first.branchId(),
                xidView(first),
                first.operator(), first.reason(), first.force(), Instant.ofEpochMilli(first.atMillis()),
                result == null ? null : result.outcome(), result == null ? null : Instant.ofEpochMilli(result.atMillis()));
    }

    /** {@code formatId:base64(gtrid):base64(bqual)}, the form the log keeps a foreign XID in. */
    static String xidText(Xid xid) {
        Base64.Encoder b64 = Base64.getEncoder();
        return xid.getFormatId() + ":" + b64.encodeToString(xid.getGlobalTransactionId()) + ":"
                + b64.encodeToString(xid.getBranchQualifier());
    }

    /** The XID an audit record names; null for an admin action on a whole transaction. */
    private static XidView xidView(LogRecord.Heuristic h) {
        try {
            if (h.txid() != null && h.branchId() != null) {
                return xidView(XidCodec.encode(h.txid(), h.branchId()));
            }
            String[] parts = h.xid() == null ? new String[0] : h.xid().split(":", -1);
            return parts.length == 3 ? new XidView(Integer.parseInt(parts[0]), parts[1], parts[2]) : null;
        } catch (IllegalArgumentException e) {
            return null; // a record this build did not write: shown without its XID rather than not at all
        }
    }

    private static XidView xidView(Xid xid) {
        Base64.Encoder b64 = Base64.getEncoder();
        return new XidView(xid.getFormatId(), b64.encodeToString(xid.getGlobalTransactionId()),
                b64.encodeToString(xid.getBranchQualifier()));
    }

    private static ApiException malformed(String detail) {
        return new ApiException(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request", detail);
    }

    private static ApiException conflict(Target target, String detail, boolean forceable) {
        ApiException e = new ApiException(HttpStatus.CONFLICT, ProblemTypes.HEURISTIC_RISK,
                forceable ? "Action contradicts the recorded decision" : "Transaction not decided", detail);
        e.property("txid", target.txid).property("branchId", target.branchId).property("resource", target.resource)
                .property("forceable", forceable);
        return e;
    }

    private static String quote(String s) {
        return s == null ? "missing" : "'" + (s.length() > 80 ? s.substring(0, 80) + "..." : s)
                .replaceAll("[^\\x20-\\x7e]", "?") + "'";
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
