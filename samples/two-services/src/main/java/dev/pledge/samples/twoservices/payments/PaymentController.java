package dev.pledge.samples.twoservices.payments;

import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.util.UUID;

/**
 * {@code POST /payments/reserve} and {@code POST /payments/confirm}. Nothing here knows about Pledge: a
 * request with {@code Pledge-Txid} runs in the caller's global transaction (the SDK's servlet filter).
 */
@RestController
public class PaymentController {
    private final PaymentService payments;

    public PaymentController(PaymentService payments) {
        this.payments = payments;
    }

    public record ReserveRequest(UUID orderId, String customer, long amountCents) {
    }

    /** {@code fail} (default false): do the work, then refuse -- a demonstration of a failure in this service. */
    public record ConfirmRequest(UUID orderId, String customer, long amountCents, Boolean fail) {
        public ConfirmRequest {
            fail = Boolean.TRUE.equals(fail);
        }
    }

    /** {@code session}: the PostgreSQL backend and transaction the call ran in. */
    public record PaymentStep(UUID orderId, String status, PaymentService.Session session) {
    }

    @PostMapping("/payments/reserve")
    public PaymentStep reserve(@RequestBody ReserveRequest request) {
        return new PaymentStep(request.orderId(), "RESERVED",
                payments.reserve(request.orderId(), request.customer(), request.amountCents()));
    }

    @PostMapping("/payments/confirm")
    public PaymentStep confirm(@RequestBody ConfirmRequest request) {
        return new PaymentStep(request.orderId(), "CONFIRMED",
                payments.confirm(request.orderId(), request.customer(), request.amountCents(), request.fail()));
    }

    @ExceptionHandler(PaymentRefusedException.class)
    public ProblemDetail refused(PaymentRefusedException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(e.status(), e.getMessage());
        problem.setTitle("Payment refused");
        return problem;
    }
}
