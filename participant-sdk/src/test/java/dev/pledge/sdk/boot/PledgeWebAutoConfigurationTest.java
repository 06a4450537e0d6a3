package dev.pledge.sdk.boot;

import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.web.ParticipantCallbackController;
import dev.pledge.sdk.web.PledgeTxidInterceptor;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.restclient.RestTemplateCustomizer;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;

import static org.assertj.core.api.Assertions.assertThat;

/** What the propagation auto-configuration adds, and when. */
class PledgeWebAutoConfigurationTest {
    private static final String[] BASE = {
            "pledge.coordinator.url=http://127.0.0.1:9", "pledge.coordinator.token=sdk-token",
            "pledge.participant.resource-check=off"};

    private static WebApplicationContextRunner web() {
        return new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(PledgeAutoConfiguration.class, PledgeWebAutoConfiguration.class))
                .withPropertyValues(BASE);
    }

    @Test
    void isRegisteredAsAnAutoConfiguration() {
        assertThat(ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader()).getCandidates())
                .contains(PledgeWebAutoConfiguration.class.getName());
    }

    @Test
    void aServletWebApplicationJoinsServesTheCallbacksAndPropagates() {
        web().run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).hasSingleBean(JoinedTransactions.class);
            assertThat(context).hasSingleBean(ParticipantCallbackController.class);
            assertThat(context).hasSingleBean(FilterRegistrationBean.class);
            assertThat(context).hasSingleBean(PledgeTxidInterceptor.class);
            assertThat(context).hasSingleBean(RestClientCustomizer.class);
            assertThat(context).hasSingleBean(RestTemplateCustomizer.class);
            JoinedTransactions joined = context.getBean(JoinedTransactions.class);
            assertThat(joined.settings().mode()).isEqualTo(JoinedTransactions.Mode.PARKED);
            assertThat(joined.settings().maxJoined()).isEqualTo(256);
            assertThat(context.getBean(CallbackUrl.class).mappingPath()).isEqualTo("/pledge/participant");
        });
    }

    @Test
    void theJoinModeAndCallbackUrlAreConfigurable() {
        web().withPropertyValues("pledge.participant.join-mode=early-prepare",
                        "pledge.participant.callback-url=http://billing:8081/app/pledge/cb/",
                        "server.servlet.context-path=/app", "pledge.participant.max-joined=7")
                .run(context -> {
                    JoinedTransactions joined = context.getBean(JoinedTransactions.class);
                    assertThat(joined.settings().mode()).isEqualTo(JoinedTransactions.Mode.EARLY_PREPARE);
                    assertThat(joined.settings().maxJoined()).isEqualTo(7);
                    assertThat(joined.settings().callbackUrl().get()).isEqualTo("http://billing:8081/app/pledge/cb");
                    assertThat(context.getBean(CallbackUrl.class).mappingPath()).isEqualTo("/pledge/cb");
                });
    }

    @Test
    void withoutAPropertyTheCallbackUrlUsesTheServerAddressPortAndContextPath() {
        web().withPropertyValues("server.address=127.0.0.1", "local.server.port=8123", "server.servlet.context-path=/app/")
                .run(context -> assertThat(context.getBean(JoinedTransactions.class).settings().callbackUrl().get())
                        .isEqualTo("http://127.0.0.1:8123/app/pledge/participant"));
    }

    @Test
    void aBadCallbackUrlOrJoinLimitStopsTheStartNamingTheProperty() {
        web().withPropertyValues("pledge.participant.callback-url=billing:8081").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("pledge.participant.callback-url");
        });
        web().withPropertyValues("pledge.participant.max-joined=0").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().hasMessageContaining("pledge.participant.max-joined=0");
        });
    }

    @Test
    void aNonWebApplicationOnlyPropagates() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(PledgeAutoConfiguration.class, PledgeWebAutoConfiguration.class))
                .withPropertyValues(BASE)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean(JoinedTransactions.class);
                    assertThat(context).doesNotHaveBean(ParticipantCallbackController.class);
                    assertThat(context).hasSingleBean(PledgeTxidInterceptor.class);
                });
    }

    @Test
    void nothingWithoutACoordinatorUrl() {
        new WebApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(PledgeAutoConfiguration.class, PledgeWebAutoConfiguration.class))
                .run(context -> {
            assertThat(context).doesNotHaveBean(JoinedTransactions.class);
            assertThat(context).doesNotHaveBean(PledgeTxidInterceptor.class);
        });
    }
}
