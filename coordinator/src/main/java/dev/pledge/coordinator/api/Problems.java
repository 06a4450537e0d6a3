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
}
