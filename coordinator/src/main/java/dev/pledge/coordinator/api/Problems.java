package dev.pledge.coordinator.api;

import dev.pledge.protocol.ProblemTypes;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds RFC 9457 problem details; the one place that knows their shape. */
public final class Problems {
    public static final String MEDIA_TYPE = "application/problem+json";

    private Problems() {
    }

    public static ProblemDetail of(HttpStatus status, URI type, String title, String detail) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setType(type);
        p.setTitle(title);
        return p;
    }

    /** For filters, which run outside Spring MVC's message converters. */
    public static void write(HttpServletResponse response, JsonMapper json, HttpStatus status, URI type, String title,
                             String detail) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", type.toString());
        body.put("title", title);
        body.put("status", status.value());
        body.put("detail", detail);
        response.setStatus(status.value());
        response.setContentType(MEDIA_TYPE);
        if (status == HttpStatus.UNAUTHORIZED) {
            response.setHeader("WWW-Authenticate", "Bearer realm=\"pledge\"");
        }
        response.getOutputStream().write(json.writeValueAsBytes(body));
    }

    public static URI unauthorized() {
        return ProblemTypes.UNAUTHORIZED;
    }

    /**
     * The stable type and title for a bare HTTP status: what a refusal that no handler of ours
     * described (the servlet container's, the firewall's) is reported as.
     */
    public record StatusProblem(HttpStatus status, URI type, String title) {
        public static StatusProblem of(int code) {
            HttpStatus status = HttpStatus.resolve(code);
            if (status == null || status.is5xxServerError() || !status.isError()) {
                return new StatusProblem(HttpStatus.INTERNAL_SERVER_ERROR, ProblemTypes.INTERNAL_ERROR, "Internal error");
            }
            return switch (status) {
                case UNAUTHORIZED -> new StatusProblem(status, ProblemTypes.UNAUTHORIZED, "Unauthorized");
                case FORBIDDEN -> new StatusProblem(status, ProblemTypes.FORBIDDEN, "Forbidden");
                case NOT_FOUND -> new StatusProblem(status, ProblemTypes.NOT_FOUND, "Not found");
                case METHOD_NOT_ALLOWED -> new StatusProblem(status, ProblemTypes.METHOD_NOT_ALLOWED, "Method not allowed");
                case CONTENT_TOO_LARGE -> new StatusProblem(status, ProblemTypes.PAYLOAD_TOO_LARGE, "Request body too large");
                case UNSUPPORTED_MEDIA_TYPE -> new StatusProblem(status, ProblemTypes.UNSUPPORTED_MEDIA_TYPE,
                        "Unsupported media type");
                default -> new StatusProblem(status, ProblemTypes.MALFORMED_REQUEST, "Malformed request");
            };
        }
    }
}
