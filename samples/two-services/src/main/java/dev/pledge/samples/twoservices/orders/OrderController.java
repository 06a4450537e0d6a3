package dev.pledge.samples.twoservices.orders;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.transaction.TransactionException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.net.URI;

/**
 * {@code POST /orders {"customer": "alice", "amountCents": 2500}} -> {@code 201} with the order id, the global
 * txid and what payments answered; a failed order answers problem+json and left nothing in either database.
 */
@RestController
public class OrderController {
    private final OrderService orders;

    public OrderController(OrderService orders) {
        this.orders = orders;
    }

    @PostMapping("/orders")
    public ResponseEntity<OrderService.PlacedOrder> place(@RequestBody OrderService.OrderRequest request) {
        OrderService.PlacedOrder placed = orders.place(request);
        return ResponseEntity.created(URI.create("/orders/" + placed.orderId())).body(placed);
    }

    @ExceptionHandler(OrderFailedException.class)
    public ProblemDetail failed(OrderFailedException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(e.status(), e.getMessage() + "; rolled back");
        problem.setTitle("Order failed");
        problem.setProperty("orderId", e.orderId());
        problem.setProperty("txid", e.txid());
        return problem;
    }

    /** The commit itself failed: e.g. payments voted ABORT at prepare, or the coordinator aborted at the deadline. */
    @ExceptionHandler(TransactionException.class)
    public ProblemDetail notCommitted(TransactionException e) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, String.valueOf(e.getMessage()));
        problem.setTitle("Order not committed");
        return problem;
    }
}
