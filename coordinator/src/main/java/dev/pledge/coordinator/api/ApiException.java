package dev.pledge.coordinator.api;

import org.springframework.http.HttpStatus;

import java.net.URI;

/** A refusal outside the transaction engine (unknown resource, bad admin request), as problem+json. */
public final class ApiException extends RuntimeException {
    private final HttpStatus status;
    private final URI type;
    private final String title;

    public ApiException(HttpStatus status, URI type, String title, String detail) {
        super(detail);
        this.status = status;
        this.type = type;
        this.title = title;
    }

    public HttpStatus status() {
        return status;
    }

    public URI type() {
        return type;
    }

    public String title() {
        return title;
    }
}
