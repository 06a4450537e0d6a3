package dev.pledge.samples.twoservices.payments;

import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.HttpStatus;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import java.util.List;
import java.util.UUID;

/**
 * Reserve, then confirm: both lock and update the customer's wallet row, and the payment row. Called twice
 * in one global transaction, the second call must run in the same database transaction as the first: in a
 * second one it would not even see the reservation, and it would wait for the wallet row's lock, which the
 * first holds until the global commit -- which waits for this very call: a self-deadlock. The SDK's parked
 * branch makes both calls one branch on one connection (DESIGN.md §4, coordinator-driven branches).
 *
 * <p>{@code @Transactional} joins the global transaction the request carries; an exception marks it
 * rollback-only, so the whole global transaction rolls back.
 */
@Service
public class PaymentService {
    private final JdbcTemplate db;

    public PaymentService(JdbcTemplate db) {
        this.db = db;
    }

    /** The PostgreSQL session and transaction a call ran in: equal for both calls of one order. */
    public record Session(int backendPid, long transactionId) {
    }

    /** Moves {@code amountCents} of the customer's balance to "reserved" and records the payment. */
    @Transactional
    public Session reserve(UUID orderId, String customer, long amountCents) {
        if (amountCents <= 0) {
            throw new PaymentRefusedException(HttpStatus.BAD_REQUEST, "amountCents must be positive");
        }
        int updated = db.update("UPDATE wallet SET reserved = reserved + ? WHERE customer = ? AND balance - reserved >= ?",
                amountCents, customer, amountCents);
        if (updated == 0) {
            Long wallets = db.queryForObject("SELECT count(*) FROM wallet WHERE customer = ?", Long.class, customer);
            throw wallets == null || wallets == 0
                    ? new PaymentRefusedException(HttpStatus.NOT_FOUND, "customer " + customer + " has no wallet")
                    : new PaymentRefusedException(HttpStatus.PAYMENT_REQUIRED, "insufficient funds in the wallet of " + customer);
        }
        try {
            db.update("INSERT INTO payment (order_id, customer, amount_cents, status) VALUES (?, ?, ?, 'RESERVED')",
                    orderId, customer, amountCents);
        } catch (DuplicateKeyException e) {
            throw new PaymentRefusedException(HttpStatus.CONFLICT, "order " + orderId + " already has a payment");
        }
        return session();
    }

    /**
     * Takes the reserved amount from the balance and marks the payment confirmed. {@code fail}: does the work,
     * then refuses (a demonstration of a failure in this service after its updates).
     */
    @Transactional
    public Session confirm(UUID orderId, String customer, long amountCents, boolean fail) {
        // Lock the wallet row first: the row the reservation of this same order updated a call ago. In the
        // same database transaction that lock is already ours; in another one this would wait for it.
        List<Long> reserved = db.queryForList("SELECT reserved FROM wallet WHERE customer = ? FOR UPDATE", Long.class,
                customer);
        int confirmed = db.update("UPDATE payment SET status = 'CONFIRMED', calls = calls + 1, confirmed_at = now()"
                + " WHERE order_id = ? AND customer = ? AND amount_cents = ? AND status = 'RESERVED'", orderId, customer,
                amountCents);
        if (reserved.isEmpty() || reserved.get(0) < amountCents || confirmed == 0) {
            throw new PaymentRefusedException(HttpStatus.CONFLICT, "order " + orderId + " has no reservation of "
                    + amountCents + " for " + customer + " to confirm");
        }
        db.update("UPDATE wallet SET balance = balance - ?, reserved = reserved - ? WHERE customer = ?",
                amountCents, amountCents, customer);
        if (fail) {
            throw new PaymentRefusedException(HttpStatus.PAYMENT_REQUIRED, "card declined (the caller asked for a failure)");
        }
        return session();
    }

    private Session session() {
        return db.queryForObject("SELECT pg_backend_pid(), txid_current()",
                (rs, n) -> new Session(rs.getInt(1), rs.getLong(2)));
    }
}
