package dev.pledge.coordinator.resources;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.pledge.coordinator.api.ApiException;
import dev.pledge.coordinator.recovery.OrphanScanner;
import dev.pledge.protocol.ProblemTypes;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionException;

/** Registered resources, their reachability, and their prepared XIDs classified by the orphan scanner. */
@RestController
public class ResourcesController {
    private final ResourceRegistry registry;
    private final OrphanScanner scanner;

    public ResourcesController(ResourceRegistry registry, OrphanScanner scanner) {
        this.registry = registry;
        this.scanner = scanner;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record ResourceView(String name, String type, String url, boolean reachable, String status,
                               Long latencyMs, String message, Instant checkedAt) {
    }

    @GetMapping(path = "/api/v1/resources", produces = MediaType.APPLICATION_JSON_VALUE)
    public List<ResourceView> resources() {
        return registry.check().stream().map(s -> new ResourceView(s.name(), s.type(), s.url(), s.health().up(),
                s.health().status().name(), s.health().latency() == null ? null : s.health().latency().toMillis(),
                s.health().message(), s.checkedAt())).toList();
    }

    @GetMapping(path = "/api/v1/resources/{name}/prepared", produces = MediaType.APPLICATION_JSON_VALUE)
    public OrphanScanner.ScanReport prepared(@PathVariable String name) {
        return scan(name, false);
    }

    @PostMapping(path = "/api/v1/resources/{name}/scan", produces = MediaType.APPLICATION_JSON_VALUE)
    public OrphanScanner.ScanReport scanNow(@PathVariable String name) {
        return scan(name, true);
    }

    private OrphanScanner.ScanReport scan(String name, boolean act) {
        if (!registry.canReach(name)) {
            throw new ApiException(HttpStatus.NOT_FOUND, ProblemTypes.RESOURCE_NOT_FOUND, "Resource not found",
                    "no resource '" + name.replaceAll("[^\\x20-\\x7e]", "?") + "' is configured on this coordinator;"
                            + " known: " + registry.names() + " (pledge.resources.<name>.*)");
        }
        try {
            return scanner.scan(name, act);
        } catch (CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new ApiException(HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.RESOURCE_UNREACHABLE,
                    "Resource unreachable", "XA recover on resource '" + name + "' failed: " + cause.getMessage()
                    + "; check that it is up and that pledge.resources." + name + ".* is right");
        }
    }
}
