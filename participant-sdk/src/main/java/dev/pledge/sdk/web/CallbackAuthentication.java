package dev.pledge.sdk.web;

import dev.pledge.protocol.ProblemTypes;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerInterceptor;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Lets only the coordinator call the participant callbacks: {@code Authorization: Bearer <token>} must carry
 * the configured callback token (the coordinator's {@code pledge.security.callback-token}); anything else
 * is answered 401 problem+json before the request body is read. Compared in constant time.
 */
public final class CallbackAuthentication implements HandlerInterceptor {
    private final byte[] expectedDigest;

    /** @param token the callback token; null refuses every call (and says how to configure one) */
    public CallbackAuthentication(String token) {
        this.expectedDigest = token == null || token.isBlank() ? null : sha256("Bearer " + token.trim());
    }

    public boolean configured() {
        return expectedDigest != null;
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler) throws Exception {
        if (!(handler instanceof HandlerMethod)
                || !ParticipantCallbackController.class.isAssignableFrom(((HandlerMethod) handler).getBeanType())) {
            return true;
        }
        String authorization = request.getHeader("Authorization");
        if (expectedDigest != null && authorization != null
                && MessageDigest.isEqual(expectedDigest, sha256(authorization.trim()))) {
            return true;
        }
        response.setHeader("WWW-Authenticate", "Bearer realm=\"pledge-participant\"");
        Problems.write(response, 401, ProblemTypes.UNAUTHORIZED, expectedDigest == null
                ? "this service has no callback token: set pledge.participant.callback-token to the coordinator's"
                + " pledge.security.callback-token"
                : "participant callbacks need 'Authorization: Bearer <the coordinator's callback token>'", null, false);
        return false;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
