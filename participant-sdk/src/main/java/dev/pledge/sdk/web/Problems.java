package dev.pledge.sdk.web;

import jakarta.servlet.http.HttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** RFC 9457 problem details, as the rest of Pledge answers errors (API.md). */
final class Problems {
    static final String PROBLEM_JSON = "application/problem+json";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private Problems() {
    }

    static Map<String, Object> body(int status, URI type, String detail, String txid) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", type.toString());
        body.put("title", title(type));
        body.put("status", status);
        body.put("detail", detail);
        if (txid != null) {
            body.put("txid", txid);
        }
        return body;
    }

    /** Writes a problem straight to a servlet response (filters and interceptors, outside Spring MVC's converters). */
    static void write(HttpServletResponse response, int status, URI type, String detail, String txid, boolean retry)
            throws IOException {
        response.setStatus(status);
        response.setContentType(PROBLEM_JSON);
        response.setCharacterEncoding(StandardCharsets.UTF_8.name());
        if (retry) {
            response.setHeader("Retry-After", "1");
        }
        byte[] bytes = JSON.writeValueAsBytes(body(status, type, detail, txid));
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
    }

    /** "transaction-not-active" -> "Transaction not active". */
    private static String title(URI type) {
        String path = type.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1).replace('-', ' ');
        return name.isEmpty() ? "Error" : name.substring(0, 1).toUpperCase(Locale.ROOT) + name.substring(1);
    }
}
