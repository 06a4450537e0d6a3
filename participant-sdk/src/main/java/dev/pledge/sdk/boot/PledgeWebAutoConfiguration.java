package dev.pledge.sdk.boot;

import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.web.CallbackAuthentication;
import dev.pledge.sdk.web.ParticipantCallbackController;
import dev.pledge.sdk.web.PledgeTxidFilter;
import dev.pledge.sdk.web.PledgeTxidInterceptor;
import jakarta.servlet.Filter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.restclient.RestClientCustomizer;
import org.springframework.boot.restclient.RestTemplateCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.env.Environment;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.web.method.HandlerTypePredicate;
import org.springframework.web.servlet.DispatcherServlet;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.PathMatchConfigurer;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/**
 * Propagation between services (DESIGN.md §7), on top of {@link PledgeAutoConfiguration}:
 * <ul>
 * <li>servlet web applications join the transaction a request names in {@code Pledge-Txid}
 * ({@link PledgeTxidFilter}, {@link JoinedTransactions}) and serve the participant callbacks the coordinator
 * drives those branches through ({@link ParticipantCallbackController} under the path of
 * {@code pledge.participant.callback-url}, authenticated with {@code pledge.participant.callback-token});</li>
 * <li>Boot's {@code RestClient.Builder} and {@code RestTemplateBuilder} send the calling thread's txid
 * ({@link PledgeTxidInterceptor}).</li>
 * </ul>
 */
@AutoConfiguration(after = PledgeAutoConfiguration.class)
@ConditionalOnProperty(prefix = "pledge.coordinator", name = "url")
public class PledgeWebAutoConfiguration {
    private static final Logger log = LoggerFactory.getLogger(PledgeWebAutoConfiguration.class);

    /** The receiving side: joining, parked branches, participant callbacks. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnClass({Filter.class, DispatcherServlet.class})
    static class Joining {

        @Bean
        CallbackUrl pledgeCallbackUrl(PledgeProperties properties, Environment environment) {
            return new CallbackUrl(properties.participant().callbackUrl(), environment);
        }

        @Bean(destroyMethod = "close")
        @ConditionalOnMissingBean
        JoinedTransactions pledgeJoinedTransactions(PledgeTransactionManager tm, PledgeProperties properties,
                                                    CallbackUrl callbackUrl) {
            PledgeProperties.Participant p = properties.participant();
            return new JoinedTransactions(tm, JoinedTransactions.Settings.defaults(callbackUrl)
                    .withMode(p.joinMode())
                    .withMaxJoined(p.maxJoined())
                    .withPreparedHold(p.outcomeWait()));
        }

        @Bean
        FilterRegistrationBean<PledgeTxidFilter> pledgeTxidFilter(JoinedTransactions joined) {
            FilterRegistrationBean<PledgeTxidFilter> registration = new FilterRegistrationBean<>(new PledgeTxidFilter(joined));
            registration.setName("pledgeTxidFilter");
            // After security and the other infrastructure filters: only the application's own work joins.
            registration.setOrder(Ordered.LOWEST_PRECEDENCE - 10);
            return registration;
        }

        @Bean
        ParticipantCallbackController pledgeParticipantCallbackController(JoinedTransactions joined) {
            return new ParticipantCallbackController(joined);
        }

        @Bean
        WebMvcConfigurer pledgeParticipantCallbackMvc(CallbackUrl callbackUrl, PledgeProperties properties) {
            String token = properties.participant().callbackToken() != null ? properties.participant().callbackToken()
                    : properties.coordinator().token();
            CallbackAuthentication authentication = new CallbackAuthentication(token);
            if (!authentication.configured()) {
                log.warn("No callback token (pledge.participant.callback-token, or pledge.coordinator.token): every"
                        + " participant callback will be refused, so transactions this service joins cannot commit");
            }
            String path = callbackUrl.mappingPath();
            log.info("Participant callbacks at {}/prepare|commit|rollback ({})", path, callbackUrl);
            return new WebMvcConfigurer() {
                @Override
                public void configurePathMatch(PathMatchConfigurer configurer) {
                    configurer.addPathPrefix(path, HandlerTypePredicate.forAssignableType(ParticipantCallbackController.class));
                }

                @Override
                public void addInterceptors(InterceptorRegistry registry) {
                    registry.addInterceptor(authentication).addPathPatterns(path + "/**");
                }
            };
        }
    }

    /** The sending side: the txid goes out with Spring's HTTP clients. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(ClientHttpRequestInterceptor.class)
    static class Propagation {

        @Bean
        @ConditionalOnMissingBean
        PledgeTxidInterceptor pledgeTxidInterceptor(PledgeTransactionManager tm) {
            return new PledgeTxidInterceptor(tm);
        }

        @Configuration(proxyBeanMethods = false)
        @ConditionalOnClass(name = "org.springframework.boot.restclient.RestClientCustomizer")
        static class BootClients {

            @Bean
            RestClientCustomizer pledgeRestClientCustomizer(PledgeTxidInterceptor interceptor) {
                return builder -> builder.requestInterceptor(interceptor);
            }

            @Bean
            RestTemplateCustomizer pledgeRestTemplateCustomizer(PledgeTxidInterceptor interceptor) {
                return restTemplate -> restTemplate.getInterceptors().add(interceptor);
            }
        }
    }
}
