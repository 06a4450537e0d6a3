package dev.pledge.coordinator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.pledge.coordinator.admin.AdminActions;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.coordinator.txn.TransactionSnapshot;
import dev.pledge.protocol.TransactionView;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

import java.security.Principal;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** In-doubt transactions and operator actions on them. */
@RestController
public class OperationsController {
    private final TransactionEngine engine;
    private final AdminActions admin;
    private final Clock clock;

    public OperationsController(TransactionEngine engine, AdminActions admin, Clock clock) {
        this.engine = engine;
        this.admin = admin;
        this.clock = clock;
    }

    /** A decided transaction whose branches are not all finished, with how long it has been waiting. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record InDoubtView(TransactionView transaction, long ageSeconds) {
    }

    @GetMapping(path = "/api/v1/in-doubt", produces = MediaType.APPLICATION_JSON_VALUE)
    public List<InDoubtView> inDoubt() {
        return engine.inDoubt().stream().map(s -> new InDoubtView(TransactionController.toView(s),
                s.decidedAt() == null ? 0 : Duration.between(s.decidedAt(), clock.instant()).toSeconds())).toList();
    }

    @PostMapping(path = "/api/v1/admin/transactions/{txid}/retry", produces = MediaType.APPLICATION_JSON_VALUE)
    public TransactionView retry(@PathVariable String txid, Principal operator) {
        TransactionSnapshot s = engine.retryNow(txid);
        admin.recordAdminAction("RETRY", txid, operator.getName(), "STARTED");
        return TransactionController.toView(s);
    }
}
