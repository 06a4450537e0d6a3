package dev.pledge.sdk.boot;

import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.StandInCoordinator;
import dev.pledge.sdk.StandInCoordinator.Answer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/** DESIGN.md §6: a participant refuses to start with a resource the coordinator cannot reach. */
class ResourceCheckTest {
    static StandInCoordinator coordinator;

    @BeforeAll
    static void start() throws Exception {
        coordinator = new StandInCoordinator();
        coordinator.always("GET", "/api/v1/resources", r -> Answer.json(200, "[{\"name\":\"billing\"}]"));
    }

    @AfterAll
    static void stop() {
        coordinator.close();
    }

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(PledgeAutoConfiguration.class))
                .withPropertyValues("pledge.coordinator.url=" + coordinator.url(),
                        "pledge.datasources.orders.url=" + H2Databases.url("check-orders"),
                        "pledge.datasources.billing.url=" + H2Databases.url("check-billing"));
    }

    @Test
    void aResourceUnknownToTheCoordinatorStopsTheStart() {
        runner().run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure())
                    .hasMessageContaining("[orders] are not registered at the coordinator")
                    .hasMessageContaining("pledge.participant.resource-check=warn");
        });
    }

    @Test
    void warnModeStartsAnyway() {
        runner().withPropertyValues("pledge.participant.resource-check=warn")
                .run(context -> assertThat(context).hasNotFailed());
    }

    @Test
    void aBadPropertyIsNamedInTheStartupFailure() {
        runner().withPropertyValues("pledge.datasources.orders.max-size=0").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasMessageContaining("pledge.datasources.orders.max-size=0");
        });
    }
}
