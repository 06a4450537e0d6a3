package dev.pledge.coordinator.resources;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import java.time.Instant;
import java.util.List;

/** {@code GET /api/v1/resources}: registered resources and whether the coordinator can reach them. */
@RestController
public class ResourcesController {
    private final ResourceRegistry registry;

    public ResourcesController(ResourceRegistry registry) {
        this.registry = registry;
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
}
