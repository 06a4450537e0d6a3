package dev.pledge.samples.twoservices.orders;

import dev.pledge.sdk.jta.PledgeTransactionManager;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;
import org.springframework.web.client.RestClientResponseException;

import java.util.UUID;

/**
 * One order = one global transaction over two services: the order row here, a reservation and its
 * confirmation in payments. The {@code RestClient} comes from Boot's {@code RestClient.Builder}, to which
 * the SDK added an interceptor: every call made inside the transaction carries {@code Pledge-Txid}, so
 * payments' work joins it. At the end of the method the SDK prepares this service's branch and asks the
 * coordinator to commit, which prepares payments' branch through its participant callback first.
 */
@Service
public class OrderService {
    private final JdbcTemplate db;
    private final RestClient payments;
    private final PledgeTransactionManager pledge;

    public OrderService(JdbcTemplate db, RestClient.Builder http, OrdersProperties properties,
                        PledgeTransactionManager pledge) {
        this.db = db;
        this.payments = http.baseUrl(properties.paymentsUrl()).build();
        this.pledge = pledge;
    }

    /** {@code orderId} is generated when absent; the two flags (demonstrations of a failure) default to false. */
    public record OrderRequest(UUID orderId, String customer, long amountCents, Boolean failAfterPayment,
                               Boolean failPayment) {
        public OrderRequest {
            failAfterPayment = Boolean.TRUE.equals(failAfterPayment);
            failPayment = Boolean.TRUE.equals(failPayment);
        }
    }

    /** What payments answered to one call: the PostgreSQL backend and transaction it ran in. */
    public record PaymentStep(UUID orderId, String status, Session session) {
    }

    public record Session(int backendPid, long transactionId) {
    }

    public record PlacedOrder(UUID orderId, String txid, PaymentStep reserve, PaymentStep confirm) {
    }

    record Reserve(UUID orderId, String customer, long amountCents) {
    }

    record Confirm(UUID orderId, String customer, long amountCents, boolean fail) {
    }

    /**
     * Stores the order and pays for it. {@code failAfterPayment}: throws after both payment calls succeeded
     * (everything rolls back, payments too); {@code failPayment}: payments refuses the confirmation.
     */
    @Transactional
    public PlacedOrder place(OrderRequest order) {
        UUID id = order.orderId() != null ? order.orderId() : UUID.randomUUID();
        // The global transaction id, only to show it (and find the transaction at the coordinator).
        String txid = pledge.getTransaction().txid();
        db.update("INSERT INTO orders (id, customer, amount_cents, txid) VALUES (?, ?, ?, ?)", id, order.customer(),
                order.amountCents(), txid);
        PaymentStep reserve = call("/payments/reserve", new Reserve(id, order.customer(), order.amountCents()), id, txid);
        PaymentStep confirm = call("/payments/confirm",
                new Confirm(id, order.customer(), order.amountCents(), order.failPayment()), id, txid);
        if (order.failAfterPayment()) {
            throw new OrderFailedException(HttpStatus.UNPROCESSABLE_CONTENT, id, txid,
                    "the order failed after its payment (the caller asked for a failure)", null);
        }
        return new PlacedOrder(id, txid, reserve, confirm);
    }

    private PaymentStep call(String path, Object body, UUID id, String txid) {
        try {
            return payments.post().uri(path).contentType(MediaType.APPLICATION_JSON).body(body)
                    .retrieve().body(PaymentStep.class);
        } catch (RestClientResponseException e) {
            throw new OrderFailedException(HttpStatus.BAD_GATEWAY, id, txid, "payments answered " + e.getStatusCode()
                    + " to " + path + ": " + e.getResponseBodyAsString(), e);
        } catch (RestClientException e) {
            throw new OrderFailedException(HttpStatus.BAD_GATEWAY, id, txid, "calling payments " + path + " failed: "
                    + e.getMessage(), e);
        }
    }
}
