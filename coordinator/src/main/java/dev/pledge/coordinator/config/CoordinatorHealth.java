package dev.pledge.coordinator.config;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.resources.ResourceRegistry;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Actuator health: the decision log can append, and every registered resource is reachable. */
@Configuration
public class CoordinatorHealth {

    @Bean
    HealthIndicator decisionLogHealth(DecisionLog decisionLog) {
        return () -> decisionLog.failure()
                .map(why -> Health.down().withDetail("error", why)
                        .withDetail("action", "check the disk holding that directory (free space, permissions,"
                                + " kernel log), then restart the coordinator: replay at start-up decides the"
                                + " transactions whose commits answered 503 outcome-unknown").build())
                .orElseGet(() -> Health.up().withDetail("records", decisionLog.stats().records()).build());
    }

    @Bean
    HealthIndicator resourcesHealth(ResourceRegistry registry) {
        return () -> {
            Health.Builder builder = Health.up();
            for (ResourceRegistry.Status s : registry.statuses()) {
                if (!s.health().up()) {
                    builder.down();
                }
                builder.withDetail(s.name(), s.health().status() + (s.health().message() == null ? "" : ": " + s.health().message()));
            }
            return builder.build();
        };
    }
}
