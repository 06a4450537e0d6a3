package dev.pledge.samples.twoservices.payments;

import org.springframework.http.HttpStatus;

/** A payment this service refuses; answered with {@link #status()} as problem+json. */
public class PaymentRefusedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final HttpStatus status;

    public PaymentRefusedException(HttpStatus status, String message) {
        super(message);
        this.status = status;
    }

    public HttpStatus status() {
        return status;
    }
}
