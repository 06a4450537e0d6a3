package dev.pledge.coordinator.security;

import dev.pledge.coordinator.api.Problems;
import dev.pledge.protocol.ProblemTypes;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.Optional;

/**
 * Authenticates {@code Authorization: Bearer <token>}. No header: the request goes on
 * unauthenticated (and is refused with 401 where authentication is required). A header with an
 * unknown token is refused here, so a typo is not mistaken for an anonymous call.
 */
public final class BearerTokenFilter extends OncePerRequestFilter {
    private final TokenStore tokens;
    private final JsonMapper json;

    public BearerTokenFilter(TokenStore tokens, JsonMapper json) {
        this.tokens = tokens;
        this.json = json;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader("Authorization");
        if (header == null) {
            chain.doFilter(request, response);
            return;
        }
        if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            Problems.write(response, json, HttpStatus.UNAUTHORIZED, ProblemTypes.UNAUTHORIZED, "Unauthorized",
                    "the Authorization header must be 'Bearer <token>': use an API token or PLEDGE_BOOTSTRAP_TOKEN");
            return;
        }
        Optional<TokenStore.Principal> principal = tokens.authenticate(header.substring(7).trim());
        if (principal.isEmpty()) {
            Problems.write(response, json, HttpStatus.UNAUTHORIZED, ProblemTypes.UNAUTHORIZED, "Unauthorized",
                    "the bearer token is not known to this coordinator: check the token configured for this service");
            return;
        }
        TokenStore.Principal p = principal.get();
        var auth = UsernamePasswordAuthenticationToken.authenticated(p.name(), null,
                p.roles().stream().map(r -> new SimpleGrantedAuthority("ROLE_" + r)).toList());
        SecurityContextHolder.getContext().setAuthentication(auth);
        try {
            chain.doFilter(request, response);
        } finally {
            SecurityContextHolder.clearContext();
        }
    }
}
