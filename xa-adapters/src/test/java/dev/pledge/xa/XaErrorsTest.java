package dev.pledge.xa;

import dev.pledge.xa.PhaseTwoResult.Outcome;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import javax.transaction.xa.XAException;
import java.io.IOException;
import java.sql.SQLException;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** Safety rule S6: every XAException code, on commit and on rollback. */
class XaErrorsTest {

    static Stream<Arguments> everyCode() {
        return Stream.of(
                // code, on commit, on rollback, forget?
                arguments(XAException.XA_RBROLLBACK, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBCOMMFAIL, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBDEADLOCK, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBINTEGRITY, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBOTHER, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBPROTO, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBTIMEOUT, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_RBTRANSIENT, Outcome.HEURISTIC_ROLLBACK, Outcome.DONE, false),
                arguments(XAException.XA_NOMIGRATE, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XA_HEURHAZ, Outcome.HEURISTIC_HAZARD, Outcome.HEURISTIC_HAZARD, true),
                arguments(XAException.XA_HEURCOM, Outcome.HEURISTIC_COMMIT, Outcome.HEURISTIC_COMMIT, true),
                arguments(XAException.XA_HEURRB, Outcome.HEURISTIC_ROLLBACK, Outcome.HEURISTIC_ROLLBACK, true),
                arguments(XAException.XA_HEURMIX, Outcome.HEURISTIC_MIXED, Outcome.HEURISTIC_MIXED, true),
                arguments(XAException.XA_RETRY, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XA_RDONLY, Outcome.DONE, Outcome.DONE, false),
                arguments(0, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_ASYNC, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_RMERR, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_NOTA, Outcome.ALREADY_DONE_NOTA, Outcome.ALREADY_DONE_NOTA, false),
                arguments(XAException.XAER_INVAL, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_PROTO, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_RMFAIL, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_DUPID, Outcome.RETRY, Outcome.RETRY, false),
                arguments(XAException.XAER_OUTSIDE, Outcome.RETRY, Outcome.RETRY, false),
                arguments(12345, Outcome.RETRY, Outcome.RETRY, false));
    }

    @ParameterizedTest(name = "{0}: commit -> {1}, rollback -> {2}")
    @MethodSource("everyCode")
    void everyXaErrorCodeIsClassifiedForCommitAndRollback(int code, Outcome onCommit, Outcome onRollback,
                                                          boolean forget) {
        PhaseTwoResult commit = XaErrors.classify(new XAException(code), true);
        PhaseTwoResult rollback = XaErrors.classify(new XAException(code), false);

        assertThat(commit.outcome()).isEqualTo(onCommit);
        assertThat(rollback.outcome()).isEqualTo(onRollback);
        assertThat(commit.xaErrorCode()).isEqualTo(code);
        assertThat(commit.message()).contains("(" + code + ")");
        assertThat(XaErrors.requiresForget(code)).isEqualTo(forget);
    }

    @Test
    void notaOnCommitIsAssumedCommittedAndOnRollbackAlreadyRolledBack() {
        PhaseTwoResult commit = XaErrors.classify(new XAException(XAException.XAER_NOTA), true);
        PhaseTwoResult rollback = XaErrors.classify(new XAException(XAException.XAER_NOTA), false);

        assertThat(commit.assumedCommitted()).isTrue();
        assertThat(commit.finished()).isTrue();
        assertThat(rollback.assumedCommitted()).isFalse();
        assertThat(rollback.message()).contains("already rolled back");
    }

    @Test
    void heuristicOutcomesMatchTheDecisionOnlyWhenTheyAgreeWithIt() {
        assertThat(XaErrors.classify(new XAException(XAException.XA_HEURCOM), true).matchesDecision()).isTrue();
        assertThat(XaErrors.classify(new XAException(XAException.XA_HEURCOM), false).matchesDecision()).isFalse();
        assertThat(XaErrors.classify(new XAException(XAException.XA_HEURRB), false).matchesDecision()).isTrue();
        assertThat(XaErrors.classify(new XAException(XAException.XA_RBROLLBACK), true).matchesDecision()).isFalse();
        assertThat(XaErrors.classify(new XAException(XAException.XA_HEURMIX), true).heuristic()).isTrue();
        assertThat(XaErrors.classify(new XAException(XAException.XA_RETRY), true).finished()).isFalse();
    }

    @Test
    void failuresWithoutAnXaCodeAreRetriedWithTheirRootCause() {
        PhaseTwoResult result = XaErrors.classifyFailure(new SQLException("connection lost",
                new IOException("Connection reset")), true);

        assertThat(result.outcome()).isEqualTo(Outcome.RETRY);
        assertThat(result.xaErrorCode()).isNull();
        assertThat(result.message()).contains("connection lost").contains("Connection reset");
        assertThat(XaErrors.classifyFailure(new XAException(XAException.XAER_NOTA), true).outcome())
                .isEqualTo(Outcome.ALREADY_DONE_NOTA);
    }

    /** A resource that records the phase-2 calls it gets and answers each with {@code failure}, if any. */
    private static javax.transaction.xa.XAResource resource(java.util.List<String> calls, Throwable failure) {
        return (javax.transaction.xa.XAResource) java.lang.reflect.Proxy.newProxyInstance(XaErrorsTest.class.getClassLoader(),
                new Class<?>[] {javax.transaction.xa.XAResource.class}, (proxy, method, args) -> {
                    calls.add(method.getName() + (method.getName().equals("commit") ? "(onePhase=" + args[1] + ")" : ""));
                    if (failure != null) {
                        throw failure;
                    }
                    return null;
                });
    }

    @Test
    void finishCommitsTwoPhaseOrRollsBackAndClassifiesWhatTheResourceThrows() {
        PledgeXid xid = new PledgeXid("c1:7:1042", "b1");
        java.util.List<String> calls = new java.util.ArrayList<>();
        assertThat(XaErrors.finish(resource(calls, null), xid, true).outcome()).isEqualTo(Outcome.DONE);
        assertThat(XaErrors.finish(resource(calls, new XAException(XAException.XAER_NOTA)), xid, false).outcome())
                .isEqualTo(Outcome.ALREADY_DONE_NOTA);
        PhaseTwoResult broken = XaErrors.finish(resource(calls, new IllegalStateException("connection closed")), xid, true);
        assertThat(broken.outcome()).isEqualTo(Outcome.RETRY);
        assertThat(broken.message()).contains("connection closed");
        assertThat(calls).containsExactly("commit(onePhase=false)", "rollback", "commit(onePhase=false)");
    }
}
