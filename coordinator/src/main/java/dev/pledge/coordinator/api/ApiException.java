package dev.pledge.coordinator.api;

import org.springframework.http.HttpStatus;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/** A refusal outside the transaction engine (unknown resource, bad admin request), as problem+json. */
public final class ApiException extends RuntimeException {
    private final HttpStatus status;
    private final URI type;
    private final String title;
    private final Map<String, Object> properties = new LinkedHashMap<>();

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

    /** Adds a member to the problem body (skipped when null), e.g. the txid the refusal is about. */
    public ApiException property(String name, Object value) {
        if (value != null) {
            properties.put(name, value);
        }
        return this;
    }

    public Map<String, Object> properties() {
        return Map.copyOf(properties);
    }
}
