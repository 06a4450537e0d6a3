package dev.pledge.coordinator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.pledge.coordinator.admin.AdminActions;
import dev.pledge.coordinator.txn.TransactionException;
import dev.pledge.protocol.TransactionView;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.security.Principal;

/** Heuristic actions on prepared branches, and the audit log of every heuristic and admin action. */
@RestController
public class AdminController {
    static final int MAX_AUDIT_PAGE = 500;
    private final AdminActions actions;

    public AdminController(AdminActions actions) {
        this.actions = actions;
    }

    /** The audit entry of the action, the transaction as it is now (when this coordinator holds it), a warning. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record HeuristicResponse(AdminActions.AuditEntry action, TransactionView transaction, String warning) {
    }

    @PostMapping(path = "/api/v1/admin/heuristic", produces = MediaType.APPLICATION_JSON_VALUE)
    public HeuristicResponse heuristic(@RequestBody AdminActions.HeuristicRequest request, Principal operator) {
        AdminActions.Done done = actions.heuristic(request, operator.getName());
        return new HeuristicResponse(done.entry(), done.transaction() == null ? null
                : TransactionController.toView(done.transaction()), done.warning());
    }

    @GetMapping(path = "/api/v1/admin/audit", produces = MediaType.APPLICATION_JSON_VALUE)
    public AdminActions.AuditPage audit(@RequestParam(defaultValue = "100") int limit,
                                        @RequestParam(required = false) String cursor) {
        if (limit < 1 || limit > MAX_AUDIT_PAGE) {
            throw new TransactionException(TransactionException.Kind.MALFORMED, null,
                    "limit=" + limit + " is out of range: use 1.." + MAX_AUDIT_PAGE);
        }
        return actions.audit(limit, cursor);
    }
}
