package dev.pledge.sdk.web;

import dev.pledge.protocol.ParticipantCalls;
import dev.pledge.protocol.ParticipantCalls.PhaseTwoRequest;
import dev.pledge.protocol.ParticipantCalls.PhaseTwoResponse;
import dev.pledge.protocol.ParticipantCalls.PrepareRequest;
import dev.pledge.protocol.ParticipantCalls.RollbackRequest;
import dev.pledge.protocol.ParticipantCalls.VoteResponse;
import dev.pledge.protocol.ProblemTypes;
import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.jta.ParticipantException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import java.util.Map;

/**
 * The participant callbacks (API.md): {@code POST {callbackUrl}/prepare}, {@code /commit}, {@code /rollback},
 * by which the coordinator prepares and finishes the branches this service holds in joined transactions.
 * Mapped under the path of {@code pledge.participant.callback-url} (default {@code /pledge/participant});
 * authenticated by {@link CallbackAuthentication}. All three are idempotent; a branch this service does not
 * hold is answered {@code UNKNOWN_BRANCH} on commit and rollback (the coordinator then finishes it at the
 * resource) and ABORT on prepare.
 */
@RestController
public class ParticipantCallbackController {
    private static final Logger log = LoggerFactory.getLogger(ParticipantCallbackController.class);

    private final JoinedTransactions joined;

    public ParticipantCallbackController(JoinedTransactions joined) {
        this.joined = joined;
    }

    @PostMapping(path = ParticipantCalls.PREPARE, produces = MediaType.APPLICATION_JSON_VALUE)
    public VoteResponse prepare(@RequestBody PrepareRequest request) {
        return joined.prepare(request.txid(), request.branchId());
    }

    @PostMapping(path = ParticipantCalls.COMMIT, produces = MediaType.APPLICATION_JSON_VALUE)
    public PhaseTwoResponse commit(@RequestBody PhaseTwoRequest request) {
        return joined.commit(request.txid(), request.branchId(), request.onePhase());
    }

    @PostMapping(path = ParticipantCalls.ROLLBACK, produces = MediaType.APPLICATION_JSON_VALUE)
    public PhaseTwoResponse rollback(@RequestBody RollbackRequest request) {
        return joined.rollback(request.txid(), request.branchId());
    }

    @ExceptionHandler(ParticipantException.class)
    public ResponseEntity<Map<String, Object>> refused(ParticipantException e) {
        if (e.status() >= 500) {
            log.warn("Participant callback failed: {}", e.getMessage());
        }
        ResponseEntity.BodyBuilder answer = ResponseEntity.status(e.status()).contentType(MediaType.APPLICATION_PROBLEM_JSON);
        if (e.retry()) {
            answer.header("Retry-After", "1");
        }
        return answer.body(Problems.body(e.status(), e.type(), e.getMessage(), e.txid()));
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    public ResponseEntity<Map<String, Object>> malformed(HttpMessageNotReadableException e) {
        return ResponseEntity.badRequest().contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(Problems.body(400, ProblemTypes.MALFORMED_REQUEST, "the body is not the JSON of a participant"
                        + " callback (API.md): " + e.getMostSpecificCause().getMessage(), null));
    }
}
