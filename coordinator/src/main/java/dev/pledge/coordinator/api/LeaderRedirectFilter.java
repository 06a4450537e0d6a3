package dev.pledge.coordinator.api;

import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.protocol.ProblemTypes;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.Optional;

/**
 * On a node that is not the ready leader, sends API calls to the leader: {@code 307} with
 * {@code Location} and {@code Pledge-Leader}, or {@code 503} + {@code Retry-After} while no leader is
 * known. {@code GET /api/v1/cluster} is always answered locally.
 */
public final class LeaderRedirectFilter extends OncePerRequestFilter {
    public static final String LEADER_HEADER = "Pledge-Leader";

    private final TransactionEngine engine;
    private final Leadership leadership;
    private final JsonMapper json;

    public LeaderRedirectFilter(TransactionEngine engine, Leadership leadership, JsonMapper json) {
        this.engine = engine;
        this.leadership = leadership;
        this.json = json;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = request.getRequestURI();
        return !path.startsWith("/api/") || path.equals("/api/v1/cluster") || path.startsWith("/api/v1/admin/cluster");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (engine.isLeading()) {
            chain.doFilter(request, response);
            return;
        }
        Optional<String> leader = leadership.leaderApiUrl();
        String self = leadership.role();
        if (leader.isPresent() && !"LEADER".equals(self)) {
            String target = leader.get() + request.getRequestURI()
                    + (request.getQueryString() == null ? "" : "?" + request.getQueryString());
            response.setStatus(HttpStatus.TEMPORARY_REDIRECT.value());
            response.setHeader("Location", target);
            response.setHeader(LEADER_HEADER, leader.get());
            return;
        }
        response.setHeader("Retry-After", "1");
        Problems.write(response, json, HttpStatus.SERVICE_UNAVAILABLE, ProblemTypes.NO_LEADER, "No leader",
                "no coordinator leads the cluster right now (role " + self + ", term " + leadership.term()
                        + "): an election is in progress; retry in a second");
    }
}
