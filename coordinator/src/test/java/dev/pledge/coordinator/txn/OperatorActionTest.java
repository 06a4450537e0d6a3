package dev.pledge.coordinator.txn;

import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.FileDecisionLog;
import dev.pledge.coordinator.log.LogRecord;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.TxState;
import dev.pledge.testkit.FakeParticipant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static dev.pledge.coordinator.txn.OperatorAction.COMMIT;
import static dev.pledge.coordinator.txn.OperatorAction.FORGET;
import static dev.pledge.coordinator.txn.OperatorAction.ROLLBACK;
import static dev.pledge.coordinator.txn.XaBridge.Result.DONE;
import static dev.pledge.coordinator.txn.XaBridge.Result.HEURISTIC_COMMIT;
import static dev.pledge.coordinator.txn.XaBridge.Result.HEURISTIC_MIXED;
import static dev.pledge.coordinator.txn.XaBridge.Result.NOT_FOUND;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** What an operator's action makes of a branch, live and after a restart that replays it from the log. */
class OperatorActionTest {
    @TempDir
    Path dir;

    @Test
    void aBranchEndsAsTheDecisionSaysOnlyWhenTheResourceEndedItThatWay() {
        assertThat(COMMIT.branchStateAfter(true, DONE)).isEqualTo(BranchState.COMMITTED);
        assertThat(ROLLBACK.branchStateAfter(false, DONE)).isEqualTo(BranchState.ROLLED_BACK);
        assertThat(ROLLBACK.branchStateAfter(true, DONE)).isEqualTo(BranchState.HEURISTIC_ROLLBACK);
        assertThat(COMMIT.branchStateAfter(false, DONE)).isEqualTo(BranchState.HEURISTIC_COMMIT);
        // S6: the resource no longer knows the branch, so it already ended as decided
        assertThat(ROLLBACK.branchStateAfter(true, NOT_FOUND)).isEqualTo(BranchState.COMMITTED);
        assertThat(COMMIT.branchStateAfter(false, NOT_FOUND)).isEqualTo(BranchState.ROLLED_BACK);
        // the resource decided on its own: its answer wins over the verb
        assertThat(ROLLBACK.branchStateAfter(true, HEURISTIC_COMMIT)).isEqualTo(BranchState.COMMITTED);
        assertThat(COMMIT.branchStateAfter(true, HEURISTIC_MIXED)).isEqualTo(BranchState.HEURISTIC_MIXED);
        assertThat(FORGET.branchStateAfter(true, null)).isEqualTo(BranchState.HEURISTIC_MIXED);
        // the outcome a result record keeps decodes to the same states; a failed action leaves the branch alone
        assertThat(COMMIT.branchStateAfterOutcome(true, OperatorAction.outcomeOf(NOT_FOUND))).contains(BranchState.COMMITTED);
        assertThat(FORGET.branchStateAfterOutcome(true, OperatorAction.outcomeOf(null))).contains(BranchState.HEURISTIC_MIXED);
        assertThat(ROLLBACK.branchStateAfterOutcome(true, OperatorAction.failedOutcome("resource down"))).isEmpty();
        assertThat(OperatorAction.failure(OperatorAction.failedOutcome("resource down"))).contains("resource down");
        assertThat(OperatorAction.parse(" rollback ")).contains(ROLLBACK);
        assertThat(OperatorAction.parse("DELETE")).isEmpty();
    }

    /**
     * Two committed transactions whose second branch phase 2 cannot finish (its participant fails every
     * call). The log holds an operator's ROLLBACK of one of them, intent and result; of the other only the
     * intent (the coordinator stopped before the result). After a restart the first stays as the operator
     * left it, and phase 2 drives the second as the decision says, since nobody knows what its action did.
     */
    @Test
    void aRestartKeepsWhatAnOperatorsRecordedActionDidAndRedrivesOneWithoutResult() throws Exception {
        try (FakeParticipant ok = new FakeParticipant("ok"); FakeParticipant stuck = new FakeParticipant("stuck")) {
            stuck.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            String done;
            String unknown;
            try (EngineHarness first = EngineHarness.start(SafetyRulesTest.props(dir, Duration.ofSeconds(5)),
                    new FileDecisionLog(dir.resolve("log")))) {
                TransactionEngine engine = first.engine();
                done = committedWithAStuckBranch(engine, ok, stuck);
                unknown = committedWithAStuckBranch(engine, ok, stuck);
                DecisionLog log = first.log();
                append(log, action("a1", done, null));
                append(log, action("a1", done, "DONE"));
                append(log, action("a2", unknown, null));
            }
            stuck.failNextPhaseTwoCalls(0);
            long commitCallsBefore = settledCommitCalls(stuck, done);
            try (EngineHarness second = EngineHarness.start(SafetyRulesTest.props(dir, Duration.ofSeconds(5)),
                    new FileDecisionLog(dir.resolve("log")))) {
                TransactionEngine engine = second.engine();
                await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(unknown).state() == TxState.COMMITTED);
                assertThat(stuck.state(unknown, "stuck:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);

                await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(done).state() == TxState.HEURISTIC_MIXED);
                TransactionSnapshot.Branch rolledBack = branch(engine, done, "stuck:1");
                assertThat(rolledBack.state()).isEqualTo(BranchState.HEURISTIC_ROLLBACK);
                assertThat(rolledBack.lastError()).contains("alice").contains("a1");
                assertThat(commitCalls(stuck, done)).as("a branch the operator rolled back is not committed after the"
                        + " restart").isEqualTo(commitCallsBefore);
            }
        }
    }

    /**
     * S6: a branch its participant reported rolled back after the COMMIT record ends HEURISTIC_ROLLBACK, and
     * that is written to the log. After a restart, with a second branch of the same participant still
     * unfinished (so the transaction is still pending), the branch keeps that state: phase 2 does not send
     * it a commit that the participant would answer COMMITTED for work it already undid.
     */
    @Test
    void aHeuristicOutcomeAParticipantReportedSurvivesARestart() throws Exception {
        try (FakeParticipant ok = new FakeParticipant("ok"); FakeParticipant stuck = new FakeParticipant("stuck")) {
            stuck.failNextPhaseTwoCalls(Integer.MAX_VALUE);
            String txid;
            try (EngineHarness first = EngineHarness.start(SafetyRulesTest.props(dir, Duration.ofSeconds(5)),
                    new FileDecisionLog(dir.resolve("log")))) {
                TransactionEngine engine = first.engine();
                txid = engine.begin(30_000L, null).id();
                engine.registerBranch(txid, new BranchRegistration("ok:1", "ok-db", BranchState.ACTIVE, ok.callbackUrl()));
                engine.registerBranch(txid, new BranchRegistration("stuck:1", "stuck-db", BranchState.ACTIVE, stuck.callbackUrl()));
                engine.registerBranch(txid, new BranchRegistration("stuck:2", "stuck-db", BranchState.ACTIVE, stuck.callbackUrl()));
                assertThat(engine.commit(txid, null, false).outcome()).isEqualTo(Outcome.COMMITTED);
                engine.reportCompletion(txid, "stuck:1", BranchState.ROLLED_BACK);
                assertThat(branch(engine, txid, "stuck:1").state()).isEqualTo(BranchState.HEURISTIC_ROLLBACK);
                await().atMost(Duration.ofSeconds(5)).until(() -> first.log().table().heuristics().stream()
                        .anyMatch(h -> h.branchId().equals("stuck:1") && h.outcome().equals("HEURISTIC_ROLLBACK")));
            }
            stuck.failNextPhaseTwoCalls(0);
            long commitCallsBefore = settledCommitCalls(stuck, txid);
            try (EngineHarness second = EngineHarness.start(SafetyRulesTest.props(dir, Duration.ofSeconds(5)),
                    new FileDecisionLog(dir.resolve("log")))) {
                TransactionEngine engine = second.engine();
                await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.HEURISTIC_MIXED);
                assertThat(branch(engine, txid, "stuck:1").state()).isEqualTo(BranchState.HEURISTIC_ROLLBACK);
                assertThat(branch(engine, txid, "stuck:2").state()).isEqualTo(BranchState.COMMITTED);
                assertThat(commitCalls(stuck, txid)).as("only stuck:2 is committed after the restart")
                        .isEqualTo(commitCallsBefore + 1);
            }
        }
    }

    private static TransactionSnapshot.Branch branch(TransactionEngine engine, String txid, String branchId) {
        return engine.view(txid).branches().stream().filter(b -> b.branchId().equals(branchId)).findFirst().orElseThrow();
    }

    private static String committedWithAStuckBranch(TransactionEngine engine, FakeParticipant ok, FakeParticipant stuck) {
        String txid = engine.begin(30_000L, null).id();
        engine.registerBranch(txid, new BranchRegistration("ok:1", "ok-db", BranchState.ACTIVE, ok.callbackUrl()));
        engine.registerBranch(txid, new BranchRegistration("stuck:1", "stuck-db", BranchState.ACTIVE, stuck.callbackUrl()));
        assertThat(engine.commit(txid, null, false).outcome()).isEqualTo(Outcome.COMMITTED);
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).branches().stream()
                .anyMatch(b -> b.state() == BranchState.FAILED_RETRYING));
        return txid;
    }

    /** The commit calls a participant got, once no call of a stopped engine is still on its way. */
    private static long settledCommitCalls(FakeParticipant participant, String txid) throws InterruptedException {
        long seen;
        long now = commitCalls(participant, txid);
        do {
            seen = now;
            Thread.sleep(300);
            now = commitCalls(participant, txid);
        } while (now != seen);
        return now;
    }

    private static long commitCalls(FakeParticipant participant, String txid) {
        return participant.calls(txid).stream().filter(c -> c.kind().equals("commit")).count();
    }

    private static LogRecord.Heuristic action(String id, String txid, String outcome) {
        return new LogRecord.Heuristic(id, txid, "stuck:1", "stuck-db", null, "ROLLBACK", "alice", "stuck-db restored",
                true, System.currentTimeMillis(), outcome);
    }

    private static void append(DecisionLog log, LogRecord record) throws Exception {
        log.append(record, DecisionLog.Durability.FORCED).get(5, TimeUnit.SECONDS);
    }
}
