package dev.pledge.samples.twoservices.orders;

import org.springframework.http.HttpStatusCode;

import java.util.UUID;

/** An order that failed and rolled back, in this service and in payments; answered as problem+json. */
public class OrderFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final HttpStatusCode status;
    private final UUID orderId;
    private final String txid;

    public OrderFailedException(HttpStatusCode status, UUID orderId, String txid, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.orderId = orderId;
        this.txid = txid;
    }

    public HttpStatusCode status() {
        return status;
    }

    public UUID orderId() {
        return orderId;
    }

    public String txid() {
        return txid;
    }
}
