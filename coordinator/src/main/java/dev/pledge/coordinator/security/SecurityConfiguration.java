package dev.pledge.coordinator.security;

import dev.pledge.coordinator.api.Problems;
import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.protocol.ProblemTypes;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every endpoint but health and readiness needs a token. Reads need any role; transaction writes
 * need PARTICIPANT; admin actions need OPERATOR.
 */
@Configuration
public class SecurityConfiguration {

    @Bean
    TokenStore tokenStore(PledgeProperties props) {
        return new TokenStore(props);
    }

    /** No password users until the console adds form login; this also stops Boot generating one. */
    @Bean
    UserDetailsService noPasswordUsers() {
        return new InMemoryUserDetailsManager();
    }

    /**
     * The firewall's refusals (an encoded '%', ';', '..' or line break in the path, a non-printable
     * header): problem+json naming what was refused, instead of a bare 400.
     */
    @Bean
    RequestRejectedHandler requestRejectedHandler(JsonMapper json) {
        return (request, response, rejected) -> Problems.write(response, json, HttpStatus.BAD_REQUEST,
                ProblemTypes.MALFORMED_REQUEST, "Malformed request", "the coordinator refused " + request.getMethod()
                        + " " + request.getRequestURI() + ": " + rejected.getMessage() + ". Txids, branch ids and"
                        + " resource names never need these characters; send the identifier the coordinator gave you");
    }

    @Bean
    SecurityFilterChain apiSecurity(HttpSecurity http, TokenStore tokens, JsonMapper json) throws Exception {
        http.csrf(csrf -> csrf.disable())
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .httpBasic(b -> b.disable())
                .formLogin(f -> f.disable())
                .logout(l -> l.disable())
                .requestCache(c -> c.disable())
                .addFilterBefore(new BearerTokenFilter(tokens, json), AnonymousAuthenticationFilter.class)
                .exceptionHandling(e -> e
                        .authenticationEntryPoint((request, response, ex) -> Problems.write(response, json,
                                HttpStatus.UNAUTHORIZED, ProblemTypes.UNAUTHORIZED, "Unauthorized",
                                "this endpoint needs 'Authorization: Bearer <token>': use an API token or PLEDGE_BOOTSTRAP_TOKEN"))
                        .accessDeniedHandler((request, response, ex) -> Problems.write(response, json,
                                HttpStatus.FORBIDDEN, ProblemTypes.FORBIDDEN, "Forbidden",
                                "this token lacks the role needed for " + request.getMethod() + " "
                                        + request.getRequestURI() + ": ask an operator for a token with that role")))
                .authorizeHttpRequests(a -> a
                        .requestMatchers("/actuator/health", "/actuator/health/**", "/error").permitAll()
                        .requestMatchers(HttpMethod.POST, "/api/v1/admin/**", "/api/v1/resources/*/scan").hasRole("OPERATOR")
                        .requestMatchers(HttpMethod.GET, "/api/**", "/actuator/**").hasAnyRole("VIEWER", "PARTICIPANT", "OPERATOR")
                        .requestMatchers("/api/v1/transactions", "/api/v1/transactions/**", "/api/v1/completions").hasRole("PARTICIPANT")
                        .anyRequest().hasRole("OPERATOR"));
        return http.build();
    }
}
