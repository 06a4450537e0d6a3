package dev.pledge.coordinator.api;

import dev.pledge.protocol.ProblemTypes;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;

/**
 * The servlet container's error page, in place of Boot's: whatever ended in {@code sendError}
 * outside Spring MVC (a filter, the container itself) still answers problem+json, like every
 * refusal of ours. Handlers that know more ({@link ProblemAdvice}, the security entry points) have
 * already answered by then and never get here.
 */
@RestController
public class ProblemErrorController implements ErrorController {
    private static final Logger log = LoggerFactory.getLogger(ProblemErrorController.class);

    private final JsonMapper json;

    public ProblemErrorController(JsonMapper json) {
        this.json = json;
    }

    @RequestMapping("${server.error.path:/error}")
    void error(HttpServletRequest request, HttpServletResponse response) throws IOException {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        if (code == null) {
            // Asked for directly, not as the container's error page.
            Problems.write(response, json, HttpStatus.NOT_FOUND, ProblemTypes.NOT_FOUND, "Not found",
                    "no endpoint at " + request.getRequestURI() + ": see API.md for the endpoints");
            return;
        }
        Problems.StatusProblem problem = Problems.StatusProblem.of(code instanceof Integer i ? i : 500);
        Object uri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
        String target = uri == null ? "this request" : request.getAttribute(RequestDispatcher.ERROR_METHOD) == null
                ? String.valueOf(uri) : request.getAttribute(RequestDispatcher.ERROR_METHOD) + " " + uri;
        Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
        String reason = message == null || message.toString().isBlank() ? "" : " (" + message + ")";
        String detail;
        if (problem.status().is5xxServerError()) {
            Object failure = request.getAttribute(RequestDispatcher.ERROR_EXCEPTION);
            log.error("Unexpected error answering {}", target, failure instanceof Throwable t ? t : null);
            detail = "the coordinator failed unexpectedly answering " + target + reason + "; the transaction"
                    + " endpoints are idempotent, so repeat the request; if it persists, report it with the"
                    + " coordinator log";
        } else {
            detail = "the coordinator refused " + target + reason + ": see API.md for the endpoints and the shape"
                    + " of their requests";
        }
        Problems.write(response, json, problem.status(), problem.type(), problem.title(), detail);
    }
}
