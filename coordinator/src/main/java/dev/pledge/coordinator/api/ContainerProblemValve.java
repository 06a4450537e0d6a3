package dev.pledge.coordinator.api;

import org.apache.catalina.Host;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.http.HttpStatus;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;

/**
 * Tomcat's error report for requests it refuses before any servlet sees them: a path with an
 * encoded NUL or slash, invalid percent-encoding, a request line or headers over the limit. Tomcat
 * answers those with an HTML page of its own; this valve, installed as the host's error report
 * valve, answers problem+json like the rest of the API.
 */
public class ContainerProblemValve extends ErrorReportValve {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Installs the valve on the embedded Tomcat's host. */
    public static WebServerFactoryCustomizer<TomcatServletWebServerFactory> installer() {
        return factory -> factory.addContextCustomizers(context -> {
            Host host = (Host) context.getParent();
            if (host instanceof StandardHost standard) {
                standard.setErrorReportValveClass(ContainerProblemValve.class.getName());
            }
        });
    }

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int code = response.getStatus();
        if (code < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        Problems.StatusProblem problem = Problems.StatusProblem.of(code);
        String message = response.getMessage();
        String detail = "the coordinator's HTTP server refused the request before reading it"
                + (message == null || message.isBlank() ? "" : " (" + message + ")")
                + (problem.status() == HttpStatus.INTERNAL_SERVER_ERROR ? "; repeat it, and if it persists report it"
                        + " with the coordinator log"
                        : ": percent-encode txids, branch ids and resource names in the path as UTF-8 (no encoded"
                        + " '/', NUL or '%'), and keep the request line and headers under 8 KiB");
        try {
            Problems.write(response, JSON, problem.status(), problem.type(), problem.title(), detail);
            response.finishResponse();
        } catch (IOException | IllegalStateException e) {
            // The client went away, or the response was already taken: nothing left to tell it.
        }
    }
}
