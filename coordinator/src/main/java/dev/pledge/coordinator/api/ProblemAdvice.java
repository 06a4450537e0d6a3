package dev.pledge.coordinator.api;

import dev.pledge.coordinator.txn.TransactionException;
import dev.pledge.protocol.ProblemTypes;
import org.apache.tomcat.util.http.InvalidParameterException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.resource.NoResourceFoundException;

import java.net.URI;

/**
 * Maps every refusal to problem+json with a stable type. Bad input is always a 4xx; only a bug
 * reaches the last handler, which says so and logs it.
 */
@RestControllerAdvice
public class ProblemAdvice {
    private static final Logger log = LoggerFactory.getLogger(ProblemAdvice.class);
    static final String RETRY_AFTER_SECONDS = "1";

    @ExceptionHandler(TransactionException.class)
    ResponseEntity<ProblemDetail> transaction(TransactionException e) {
        HttpStatus status;
        URI type;
        String title;
        switch (e.kind()) {
            case INVALID_TXID -> { status = HttpStatus.BAD_REQUEST; type = ProblemTypes.INVALID_TXID; title = "Invalid txid"; }
            case INVALID_BRANCH -> { status = HttpStatus.BAD_REQUEST; type = ProblemTypes.INVALID_BRANCH; title = "Invalid branch"; }
            case MALFORMED -> { status = HttpStatus.BAD_REQUEST; type = ProblemTypes.MALFORMED_REQUEST; title = "Malformed request"; }
            case NOT_FOUND -> { status = HttpStatus.NOT_FOUND; type = ProblemTypes.TRANSACTION_NOT_FOUND; title = "Transaction not found"; }
            case NOT_ACTIVE -> { status = HttpStatus.CONFLICT; type = ProblemTypes.TRANSACTION_NOT_ACTIVE; title = "Transaction not active"; }
            case ALREADY_COMMITTED -> { status = HttpStatus.CONFLICT; type = ProblemTypes.TRANSACTION_COMMITTED; title = "Transaction already committed"; }
            case OUTCOME_UNKNOWN -> { status = HttpStatus.SERVICE_UNAVAILABLE; type = ProblemTypes.OUTCOME_UNKNOWN; title = "Outcome unknown"; }
            case UNKNOWN_RESOURCE -> { status = HttpStatus.UNPROCESSABLE_CONTENT; type = ProblemTypes.UNKNOWN_RESOURCE; title = "Unknown resource"; }
            case NO_LEADER -> { status = HttpStatus.SERVICE_UNAVAILABLE; type = ProblemTypes.NO_LEADER; title = "No leader"; }
            case LIMIT_EXCEEDED -> { status = HttpStatus.TOO_MANY_REQUESTS; type = ProblemTypes.LIMIT_EXCEEDED; title = "Limit exceeded"; }
            default -> throw new IllegalStateException("unmapped kind " + e.kind());
        }
        ProblemDetail p = Problems.of(status, type, title, e.getMessage());
        if (e.txid() != null) {
            p.setProperty("txid", e.txid());
        }
        if (e.state() != null) {
            p.setProperty("state", e.state().name());
        }
        ResponseEntity.BodyBuilder response = ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON);
        if (status == HttpStatus.SERVICE_UNAVAILABLE || status == HttpStatus.TOO_MANY_REQUESTS) {
            response.header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        return response.body(p);
    }

    @ExceptionHandler(ApiException.class)
    ResponseEntity<ProblemDetail> api(ApiException e) {
        ProblemDetail p = Problems.of(e.status(), e.type(), e.title(), e.getMessage());
        e.properties().forEach(p::setProperty);
        ResponseEntity.BodyBuilder response = ResponseEntity.status(e.status()).contentType(MediaType.APPLICATION_PROBLEM_JSON);
        if (e.status() == HttpStatus.SERVICE_UNAVAILABLE) {
            response.header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        return response.body(p);
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<ProblemDetail> unreadable(HttpMessageNotReadableException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RequestLimitFilter.BodyTooLargeException) {
                return problem(HttpStatus.CONTENT_TOO_LARGE, ProblemTypes.PAYLOAD_TOO_LARGE, "Request body too large",
                        t.getMessage() + ": send a smaller request");
            }
        }
        String why = e.getMostSpecificCause().getMessage();
        if (why != null) {
            why = why.lines().findFirst().orElse(why);
            if (why.length() > 200) {
                why = why.substring(0, 200) + "...";
            }
        }
        return problem(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request",
                "the request body is not valid JSON for this endpoint (" + why + "): see API.md for its shape");
    }

    @ExceptionHandler(HttpMediaTypeNotSupportedException.class)
    ResponseEntity<ProblemDetail> mediaType(HttpMediaTypeNotSupportedException e) {
        return problem(HttpStatus.UNSUPPORTED_MEDIA_TYPE, ProblemTypes.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
                "send the body as application/json (got " + e.getContentType() + ")");
    }

    @ExceptionHandler(HttpMediaTypeNotAcceptableException.class)
    ResponseEntity<ProblemDetail> notAcceptable(HttpMediaTypeNotAcceptableException e) {
        return problem(HttpStatus.NOT_ACCEPTABLE, ProblemTypes.UNSUPPORTED_MEDIA_TYPE, "Not acceptable",
                "this endpoint answers application/json: accept it");
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    ResponseEntity<ProblemDetail> method(HttpRequestMethodNotSupportedException e) {
        return problem(HttpStatus.METHOD_NOT_ALLOWED, ProblemTypes.METHOD_NOT_ALLOWED, "Method not allowed",
                e.getMethod() + " is not supported here; supported: " + e.getSupportedHttpMethods());
    }

    @ExceptionHandler({MethodArgumentTypeMismatchException.class, MissingServletRequestParameterException.class})
    ResponseEntity<ProblemDetail> parameter(Exception e) {
        return problem(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request",
                "a query parameter is missing or has the wrong type: " + e.getMessage());
    }

    /** Tomcat decodes query and form parameters lazily and throws this for bad percent-encoding. */
    @ExceptionHandler(InvalidParameterException.class)
    ResponseEntity<ProblemDetail> undecodableParameter(InvalidParameterException e) {
        return problem(HttpStatus.BAD_REQUEST, ProblemTypes.MALFORMED_REQUEST, "Malformed request",
                "a query parameter or form field is not valid percent-encoded UTF-8 (" + e.getMessage().lines()
                        .findFirst().orElse("") + "): encode parameters as UTF-8, and send request bodies as"
                        + " application/json");
    }

    @ExceptionHandler(NoResourceFoundException.class)
    ResponseEntity<ProblemDetail> noResource(NoResourceFoundException e) {
        return problem(HttpStatus.NOT_FOUND, ProblemTypes.NOT_FOUND, "Not found",
                "no endpoint at /" + e.getResourcePath() + ": see API.md for the endpoints");
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> bug(Exception e) {
        log.error("Unexpected error answering a request", e);
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, ProblemTypes.INTERNAL_ERROR, "Internal error",
                "the coordinator failed unexpectedly (" + e.getClass().getSimpleName() + "); the transaction endpoints are"
                        + " idempotent, so repeat the request; if it persists, report it with the coordinator log");
    }

    static ResponseEntity<ProblemDetail> problem(HttpStatus status, URI type, String title, String detail) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(Problems.of(status, type, title, detail));
    }
}
