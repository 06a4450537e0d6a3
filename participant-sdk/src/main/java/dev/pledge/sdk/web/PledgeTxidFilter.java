package dev.pledge.sdk.web;

import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.jta.JoinedTransactions.JoinedRequest;
import dev.pledge.sdk.jta.ParticipantException;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.util.ContentCachingResponseWrapper;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Joins a request that carries {@code Pledge-Txid} to that global transaction: the request's thread is in
 * the joined transaction while the application handles it (so {@code @Transactional} methods take part
 * in it and the SDK's pools enlist in it), and at the end this service's branches are parked or prepared
 * ({@link JoinedTransactions}). Requests without the header pass untouched.
 *
 * <p>The response is buffered until that end-of-request work is done: the caller must not see a success,
 * and go on to commit, before this service's branches are parked, registered and (early prepare) prepared.
 * If that work fails, the caller gets a problem+json error instead of the application's answer. An
 * exception from the application marks the transaction rollback-only: it rolls back everywhere.
 *
 * <p>Synchronous requests only: an asynchronous handler ({@code DeferredResult}, {@code Callable}) would run
 * outside the transaction, so such a request rolls the transaction back.
 */
public final class PledgeTxidFilter implements Filter {
    private static final Logger log = LoggerFactory.getLogger(PledgeTxidFilter.class);

    private final JoinedTransactions joined;

    public PledgeTxidFilter(JoinedTransactions joined) {
        this.joined = joined;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        String txid = request instanceof HttpServletRequest ? ((HttpServletRequest) request).getHeader(PledgeHeaders.TXID) : null;
        if (txid == null || txid.isBlank() || !(response instanceof HttpServletResponse)) {
            chain.doFilter(request, response);
            return;
        }
        HttpServletRequest http = (HttpServletRequest) request;
        HttpServletResponse httpResponse = (HttpServletResponse) response;
        JoinedRequest joinedRequest;
        try {
            joinedRequest = joined.enter(txid.trim(), deadlineHint(http));
        } catch (ParticipantException e) {
            log.info("Not joining transaction {} for {} {}: {}", txid, http.getMethod(), http.getRequestURI(), e.getMessage());
            Problems.write(httpResponse, e.status(), e.type(), e.getMessage(), e.txid(), e.retry());
            return;
        }
        ContentCachingResponseWrapper buffered = new ContentCachingResponseWrapper(httpResponse);
        Throwable failure = null;
        try {
            chain.doFilter(request, buffered);
            if (http.isAsyncStarted()) {
                failure = new IllegalStateException("asynchronous request processing cannot work in joined transaction "
                        + txid + "; handle the request synchronously");
                log.error("{} {}: {}", http.getMethod(), http.getRequestURI(), failure.getMessage());
            }
        } catch (IOException | ServletException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            ParticipantException refusal = joinedRequest.exit(failure);
            if (refusal != null && failure == null && !httpResponse.isCommitted()) {
                log.warn("{} {} in transaction {}: answering {} instead of the application's {}: {}", http.getMethod(),
                        http.getRequestURI(), txid, refusal.status(), buffered.getStatus(), refusal.getMessage());
                buffered.reset();
                Problems.write(buffered, refusal.status(), refusal.type(), refusal.getMessage(), refusal.txid(),
                        refusal.retry());
            }
            if (!http.isAsyncStarted()) {
                buffered.copyBodyToResponse();
            }
        }
    }

    private static Instant deadlineHint(HttpServletRequest request) {
        String value = request.getHeader(PledgeHeaders.DEADLINE);
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Instant.parse(value.trim());
        } catch (DateTimeParseException e) {
            return null; // a hint only: the default timeout applies
        }
    }
}
