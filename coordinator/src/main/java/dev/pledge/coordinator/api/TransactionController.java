package dev.pledge.coordinator.api;

import dev.pledge.coordinator.failpoint.Failpoints;
import dev.pledge.coordinator.txn.GlobalTransaction;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.coordinator.txn.TransactionException;
import dev.pledge.coordinator.txn.TransactionSnapshot;
import dev.pledge.protocol.BeginRequest;
import dev.pledge.protocol.BeginResponse;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.BranchView;
import dev.pledge.protocol.CommitRequest;
import dev.pledge.protocol.CompletionReport;
import dev.pledge.protocol.OutcomeResponse;
import dev.pledge.protocol.TransactionPage;
import dev.pledge.protocol.TransactionView;
import dev.pledge.protocol.TxState;
import dev.pledge.protocol.XidView;
import dev.pledge.xa.XidCodec;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** The transaction endpoints of API.md. */
@RestController
@RequestMapping(path = "/api/v1", produces = MediaType.APPLICATION_JSON_VALUE)
public class TransactionController {
    private static final int MAX_PAGE = 500;

    private final TransactionEngine engine;

    public TransactionController(TransactionEngine engine) {
        this.engine = engine;
    }

    @PostMapping("/transactions")
    public ResponseEntity<BeginResponse> begin(@RequestBody(required = false) BeginRequest request) {
        GlobalTransaction tx = engine.begin(request == null ? null : request.timeoutMs(),
                request == null ? null : request.label());
        TransactionSnapshot s = engine.view(tx.id());
        return ResponseEntity.created(URI.create("/api/v1/transactions/" + tx.id()))
                .body(new BeginResponse(tx.id(), s.deadline(), XidCodec.FORMAT_ID));
    }

    @GetMapping("/transactions/{txid}")
    public TransactionView get(@PathVariable String txid) {
        return toView(engine.view(txid));
    }

    @GetMapping("/transactions")
    public TransactionPage list(@RequestParam(required = false) TxState state,
                                @RequestParam(required = false) String olderThan,
                                @RequestParam(defaultValue = "100") int limit,
                                @RequestParam(required = false) String cursor) {
        if (limit < 1 || limit > MAX_PAGE) {
            throw new TransactionException(TransactionException.Kind.MALFORMED, null,
                    "limit=" + limit + " is out of range: use 1.." + MAX_PAGE);
        }
        Instant cutoff = olderThan == null ? null : Instant.now().minus(parseAge(olderThan));
        Predicate<TransactionSnapshot> filter = s -> (state == null || s.state() == state)
                && (cutoff == null || (s.createdAt() != null && s.createdAt().isBefore(cutoff)));
        List<TransactionSnapshot> page = engine.list(filter, cursor, limit + 1);
        String next = page.size() > limit ? page.get(limit - 1).txid() : null;
        return new TransactionPage(page.stream().limit(limit).map(TransactionController::toView).toList(), next);
    }

    @PostMapping("/transactions/{txid}/branches")
    public ResponseEntity<Void> register(@PathVariable String txid, @RequestBody BranchRegistration registration) {
        engine.registerBranch(txid, registration);
        return ResponseEntity.status(HttpStatus.CREATED).build();
    }

    @PostMapping("/transactions/{txid}/commit")
    public OutcomeResponse commit(@PathVariable String txid, @RequestBody(required = false) CommitRequest request) {
        boolean waitForCompletion = false;
        if (request != null && request.waitFor() != null) {
            switch (request.waitFor()) {
                case "decision" -> waitForCompletion = false;
                case "completion" -> waitForCompletion = true;
                default -> throw new TransactionException(TransactionException.Kind.MALFORMED, txid,
                        "wait='" + request.waitFor() + "' is invalid: use \"decision\" or \"completion\"");
            }
        }
        TransactionEngine.Decision d = engine.commit(txid, request == null ? null : request.branches(), waitForCompletion);
        Failpoints.hit(Failpoints.BEFORE_REPLY, d.txid());
        return new OutcomeResponse(d.txid(), d.outcome(), d.reason());
    }

    @PostMapping("/transactions/{txid}/rollback")
    public OutcomeResponse rollback(@PathVariable String txid) {
        TransactionEngine.Decision d = engine.rollback(txid);
        return new OutcomeResponse(d.txid(), d.outcome(), d.reason());
    }

    @PostMapping("/transactions/{txid}/branches/{branchId}/completed")
    public ResponseEntity<Void> completed(@PathVariable String txid, @PathVariable String branchId,
                                          @RequestBody CompletionReport report) {
        engine.reportCompletion(txid, branchId, report.outcome());
        return ResponseEntity.noContent().build();
    }

    /** Batched completion reports: {@code [{"txid","branchId","outcome"}...]}. */
    public record Completion(String txid, String branchId, BranchState outcome) {
    }

    /** A completion report that could not be applied, and why. */
    public record Rejected(String txid, String branchId, String detail) {
    }

    /**
     * Applies every report it can: 204 when all were applied, else 200 with the rejected ones (one bad
     * report must not hold back the others of the batch).
     */
    @PostMapping("/completions")
    public ResponseEntity<Map<String, List<Rejected>>> completions(@RequestBody List<Completion> reports) {
        if (reports.size() > MAX_PAGE) {
            throw new TransactionException(TransactionException.Kind.LIMIT_EXCEEDED, null,
                    reports.size() + " completion reports in one request; send at most " + MAX_PAGE);
        }
        List<Rejected> rejected = new java.util.ArrayList<>();
        for (Completion c : reports) {
            if (c == null) {
                rejected.add(new Rejected(null, null, "a completion report is null"));
                continue;
            }
            try {
                engine.reportCompletion(c.txid(), c.branchId(), c.outcome());
            } catch (TransactionException e) {
                rejected.add(new Rejected(c.txid(), c.branchId(), e.getMessage()));
            }
        }
        return rejected.isEmpty() ? ResponseEntity.noContent().build() : ResponseEntity.ok(Map.of("rejected", rejected));
    }

    static Duration parseAge(String text) {
        try {
            return Duration.parse(text.startsWith("P") ? text : "PT" + text.toUpperCase());
        } catch (DateTimeParseException e) {
            throw new TransactionException(TransactionException.Kind.MALFORMED, null,
                    "olderThan='" + text + "' is not a duration: use e.g. 30s, 5m or PT1H");
        }
    }

    static TransactionView toView(TransactionSnapshot s) {
        List<BranchView> branches = s.branches().stream().map(b -> new BranchView(b.branchId(), b.resource(),
                xid(s.txid(), b.branchId()), b.state(), b.callbackUrl(), b.attempts(), b.lastError(), b.nextAttemptAt(),
                b.assumedCommitted() ? Boolean.TRUE : null)).toList();
        return new TransactionView(s.txid(), s.state(), s.label(), s.createdAt(), s.deadline(), s.decidedAt(), s.reason(),
                s.presumed() ? Boolean.TRUE : null, branches);
    }

    static XidView xid(String txid, String branchId) {
        Base64.Encoder b64 = Base64.getEncoder();
        return new XidView(XidCodec.FORMAT_ID, b64.encodeToString(txid.getBytes(StandardCharsets.US_ASCII)),
                b64.encodeToString(branchId.getBytes(StandardCharsets.US_ASCII)));
    }
}
