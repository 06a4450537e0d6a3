package dev.pledge.sdk.web;

import dev.pledge.sdk.jta.PledgeTransactionManager;
import org.springframework.http.HttpRequest;
import org.springframework.http.client.ClientHttpRequestExecution;
import org.springframework.http.client.ClientHttpRequestInterceptor;
import org.springframework.http.client.ClientHttpResponse;

import java.io.IOException;
import java.util.Map;

/**
 * Adds {@code Pledge-Txid} (and {@code Pledge-Deadline}) to every request a {@code RestClient} or
 * {@code RestTemplate} sends from a thread that is in a Pledge transaction, so the called service joins it.
 * The auto-configuration adds it to Boot's {@code RestClient.Builder} and {@code RestTemplateBuilder}; add it
 * yourself to a client built otherwise ({@code RestClient.builder().requestInterceptor(interceptor)}).
 * Only the calling thread's transaction is seen: a call made on another thread carries no txid.
 */
public final class PledgeTxidInterceptor implements ClientHttpRequestInterceptor {
    private final PledgeTransactionManager tm;

    public PledgeTxidInterceptor(PledgeTransactionManager tm) {
        this.tm = tm;
    }

    @Override
    public ClientHttpResponse intercept(HttpRequest request, byte[] body, ClientHttpRequestExecution execution)
            throws IOException {
        for (Map.Entry<String, String> header : PledgeHeaders.propagate(tm).entrySet()) {
            request.getHeaders().set(header.getKey(), header.getValue());
        }
        return execution.execute(request, body);
    }
}
