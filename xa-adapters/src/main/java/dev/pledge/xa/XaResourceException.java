package dev.pledge.xa;

/** A resource manager could not be reached or refused an operation; the message says what to do. */
public class XaResourceException extends RuntimeException {
    private final String resource;

    public XaResourceException(String resource, String message, Throwable cause) {
        super(message, cause);
        this.resource = resource;
    }

    /** The configured resource name. */
    public String resource() {
        return resource;
    }
}
