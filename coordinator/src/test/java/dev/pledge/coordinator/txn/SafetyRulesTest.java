package dev.pledge.coordinator.txn;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.log.FileDecisionLog;
import dev.pledge.testkit.FakeParticipant;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.Outcome;
import dev.pledge.protocol.TxState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Safety rules S1-S4 of DESIGN.md, each pinned against the real engine, a real file log (with
 * injected faults where the rule is about faults) and participants over real HTTP. Restarts are
 * simulated by closing the engine and opening a new one on the same log directory.
 */
class SafetyRulesTest {
    @TempDir
    Path dir;
    private FakeParticipant a;
    private FakeParticipant b;
    private final List<AutoCloseable> running = new ArrayList<>();
    private FaultyDecisionLog faulty;

    @BeforeEach
    void participants() throws Exception {
        a = new FakeParticipant("a");
        b = new FakeParticipant("b");
    }

    @AfterEach
    void stop() throws Exception {
        for (int i = running.size() - 1; i >= 0; i--) {
            running.get(i).close();
        }
        a.close();
        b.close();
    }

    static PledgeProperties props(Path dir, Duration appendTimeout) {
        return new PledgeProperties(dir, "s1", "n1", null,
                new PledgeProperties.Transaction(Duration.ofSeconds(30), Duration.ofMinutes(10), 64, 100_000, 100_000),
                new PledgeProperties.Participant(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(5)),
                new PledgeProperties.PhaseTwo(Duration.ofMillis(20), Duration.ofMillis(200), appendTimeout),
                Map.of(), new PledgeProperties.Security(null, Map.of(), null, 65536),
                new PledgeProperties.Recovery(false, Duration.ofSeconds(30), Duration.ofSeconds(60)),
                new PledgeProperties.Cluster("single", "", Duration.ofSeconds(1), Duration.ofSeconds(2), 10_000, Duration.ofSeconds(8), false),
                new PledgeProperties.Failpoint("", "HALT", 0));
    }

    /** Starts an engine on {@code dir}; the previous one must have been stopped (the log is locked). */
    private TransactionEngine startEngine(Duration appendTimeout) throws Exception {
        faulty = new FaultyDecisionLog(new FileDecisionLog(dir.resolve("log")));
        EngineHarness harness = EngineHarness.start(props(dir, appendTimeout), faulty);
        running.add(harness);
        return harness.engine();
    }

    private void stopLast() throws Exception {
        running.remove(running.size() - 1).close();
    }

    private String beginWithTwoBranches(TransactionEngine engine, long timeoutMs) {
        String txid = engine.begin(timeoutMs, null).id();
        engine.registerBranch(txid, new BranchRegistration("a:1", "ra", BranchState.ACTIVE, a.callbackUrl()));
        engine.registerBranch(txid, new BranchRegistration("b:1", "rb", BranchState.ACTIVE, b.callbackUrl()));
        return txid;
    }

    /**
     * Begins a transaction with a short deadline and registers two branches; on a slow machine the
     * deadline may win before both joined, which is one of the outcomes the S4 test allows.
     */
    private String beginRacingItsDeadline(TransactionEngine engine, long timeoutMs) {
        String txid = engine.begin(timeoutMs, null).id();
        try {
            engine.registerBranch(txid, new BranchRegistration("a:1", "ra", BranchState.ACTIVE, a.callbackUrl()));
            engine.registerBranch(txid, new BranchRegistration("b:1", "rb", BranchState.ACTIVE, b.callbackUrl()));
        } catch (TransactionException e) {
            assertThat(engine.view(txid).state()).as(txid + " refused a branch: " + e.getMessage())
                    .isNotEqualTo(TxState.ACTIVE);
        }
        return txid;
    }

    private boolean anyCommitCall(String txid) {
        return a.calls(txid).stream().anyMatch(c -> c.kind().equals("commit"))
                || b.calls(txid).stream().anyMatch(c -> c.kind().equals("commit"));
    }

    private boolean anyRollbackCall(String txid) {
        return a.calls(txid).stream().anyMatch(c -> c.kind().equals("rollback"))
                || b.calls(txid).stream().anyMatch(c -> c.kind().equals("rollback"));
    }

    @Test
    void s1NoBranchCommitsBeforeTheCommitRecordIsDurable() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofMillis(500));
        String txid = beginWithTwoBranches(engine, 30_000);
        faulty.mode = FaultyDecisionLog.Mode.HANG;
        assertThatThrownBy(() -> engine.commit(txid, null, false))
                .isInstanceOfSatisfying(TransactionException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransactionException.Kind.OUTCOME_UNKNOWN));
        Thread.sleep(300);
        assertThat(a.state(txid, "a:1")).isEqualTo(FakeParticipant.Branch.PREPARED);
        assertThat(anyCommitCall(txid)).as("phase 2 before the commit point").isFalse();
        faulty.release();
        assertThat(engine.commit(txid, null, true).outcome()).isEqualTo(Outcome.COMMITTED);
        assertThat(a.state(txid, "a:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
    }

    @Test
    void s2AnUnknownAppendNeverRollsBackAndTheLogDecidesAfterRestart() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String written = beginWithTwoBranches(engine, 500);
        String unwritten = beginWithTwoBranches(engine, 500);
        faulty.mode = FaultyDecisionLog.Mode.FAIL_WRITTEN;
        assertOutcomeUnknown(() -> engine.commit(written, null, false));
        faulty.mode = FaultyDecisionLog.Mode.FAIL_UNWRITTEN;
        assertOutcomeUnknown(() -> engine.commit(unwritten, null, false));
        assertOutcomeUnknown(() -> engine.commit(unwritten, null, false));
        assertThatThrownBy(() -> engine.rollback(unwritten)).isInstanceOf(TransactionException.class);
        Thread.sleep(1000); // both deadlines pass: an undecided transaction must not be aborted by them
        assertThat(engine.view(written).state()).isEqualTo(TxState.PREPARING);
        assertThat(engine.view(unwritten).state()).isEqualTo(TxState.PREPARING);
        assertThat(anyRollbackCall(written) || anyRollbackCall(unwritten)).isFalse();
        assertThat(anyCommitCall(written) || anyCommitCall(unwritten)).isFalse();

        stopLast();
        TransactionEngine restarted = startEngine(Duration.ofSeconds(2));
        // the record that reached the log wins: phase 2 resumes from it
        await().atMost(Duration.ofSeconds(10)).until(() -> restarted.view(written).state() == TxState.COMMITTED);
        assertThat(a.state(written, "a:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(b.state(written, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        // the one that did not is presumed aborted, and nothing commits it
        TransactionEngine.Decision d = restarted.commit(unwritten, null, false);
        assertThat(d.outcome()).isEqualTo(Outcome.ABORTED);
        assertThat(d.presumed()).isTrue();
        assertThat(anyCommitCall(unwritten)).isFalse();
    }

    @Test
    void s2AFailedCommitAppendIsAppendedAgainByTheNextCommitRequestOnceTheLogAcceptsAppends() throws Exception {
        // A replicated log reports an unknown outcome while it has no majority, then works again:
        // the transaction must not stay undecided (its branches holding locks) until a restart.
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String txid = beginWithTwoBranches(engine, 30_000);
        faulty.mode = FaultyDecisionLog.Mode.FAIL_UNWRITTEN;
        assertOutcomeUnknown(() -> engine.commit(txid, null, false));
        assertThat(anyCommitCall(txid) || anyRollbackCall(txid)).isFalse();

        faulty.mode = FaultyDecisionLog.Mode.PASS;
        assertThat(engine.commit(txid, null, true).outcome()).isEqualTo(Outcome.COMMITTED);

        assertThat(a.state(txid, "a:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(engine.view(txid).state()).isEqualTo(TxState.COMMITTED);
    }

    // Atomicity: a participant reports a branch rolled back before the transaction was decided
    // (its local transaction died, an operator rolled it back). It can never commit, so neither can
    // the transaction; before the fix the coordinator ignored the report and committed the rest.

    @Test
    void aBranchReportedRolledBackWhileActiveAbortsTheTransaction() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String txid = beginWithTwoBranches(engine, 30_000);
        engine.reportCompletion(txid, "a:1", BranchState.ROLLED_BACK);
        TransactionEngine.Decision d = engine.commit(txid, null, false);
        assertThat(d.outcome()).isEqualTo(Outcome.ABORTED);
        assertThat(d.reason()).contains("a:1").contains("rolled back");
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.ABORTED);
        assertThat(anyCommitCall(txid)).isFalse();
        assertThat(b.calls(txid)).extracting(FakeParticipant.Call::kind).containsExactly("rollback");
        assertThat(a.calls(txid)).as("the reported branch needs no rollback").isEmpty();
    }

    @Test
    void aBranchReportedRolledBackWhileVotesAreCollectedAbortsInsteadOfCommitting() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String txid = beginWithTwoBranches(engine, 30_000);
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        a.holdVotesUntil(gate);
        b.holdVotesUntil(gate);
        CompletableFuture<TransactionEngine.Decision> commit = CompletableFuture.supplyAsync(
                () -> engine.commit(txid, null, false));
        fastAwait().until(() -> a.calls(txid).size() + b.calls(txid).size() == 2); // both PREPAREs are waiting
        engine.reportCompletion(txid, "a:1", BranchState.ROLLED_BACK);
        gate.countDown(); // both vote COMMIT
        TransactionEngine.Decision d = commit.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(d.outcome()).isEqualTo(Outcome.ABORTED);
        assertThat(d.reason()).contains("a:1");
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.ABORTED);
        assertThat(anyCommitCall(txid)).isFalse();
        assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.ROLLED_BACK);
        assertThat(engine.view(txid).branches()).filteredOn(v -> v.branchId().equals("a:1"))
                .extracting(v -> v.state()).containsExactly(BranchState.ROLLED_BACK);
    }

    @Test
    void aBranchReportedRolledBackWhileTheCommitRecordIsWrittenEndsAsAHeuristicRollback() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(5));
        String txid = beginWithTwoBranches(engine, 30_000);
        faulty.mode = FaultyDecisionLog.Mode.HANG;
        CompletableFuture<TransactionEngine.Decision> commit = CompletableFuture.supplyAsync(
                () -> engine.commit(txid, null, false));
        fastAwait().until(() -> faulty.hung != null); // the commit point is on its way to the disk
        engine.reportCompletion(txid, "a:1", BranchState.ROLLED_BACK);
        faulty.release();
        assertThat(commit.get(10, java.util.concurrent.TimeUnit.SECONDS).outcome()).isEqualTo(Outcome.COMMITTED);
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.HEURISTIC_MIXED);
        assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(a.calls(txid)).extracting(FakeParticipant.Call::kind).as("no commit for a branch its participant"
                + " rolled back").containsExactly("prepare");
        assertThat(engine.view(txid).branches()).filteredOn(v -> v.branchId().equals("a:1"))
                .extracting(v -> v.state()).containsExactly(BranchState.HEURISTIC_ROLLBACK);
    }

    @Test
    void aBranchReportedCommittedBeforeTheDecisionEndsCommittedWhenTheTransactionCommits() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String txid = beginWithTwoBranches(engine, 30_000);
        engine.reportCompletion(txid, "a:1", BranchState.COMMITTED);
        assertThat(engine.view(txid).state()).as("a report decides nothing").isEqualTo(TxState.ACTIVE);

        assertThat(engine.commit(txid, null, false).outcome()).isEqualTo(Outcome.COMMITTED);

        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.COMMITTED);
        assertThat(a.calls(txid)).as("a committed branch is neither prepared nor committed again").isEmpty();
        assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(faulty.table().heuristics()).as("nothing went against the decision").isEmpty();
    }

    @Test
    void aBranchReportedCommittedBeforeAnAbortEndsAsAHeuristicCommitAndIsRecorded() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String txid = beginWithTwoBranches(engine, 30_000);
        b.voteAbort("b:1");
        engine.reportCompletion(txid, "a:1", BranchState.COMMITTED);

        assertThat(engine.commit(txid, null, false).outcome()).isEqualTo(Outcome.ABORTED);

        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.HEURISTIC_MIXED);
        assertThat(engine.view(txid).branches()).filteredOn(v -> v.branchId().equals("a:1"))
                .extracting(v -> v.state()).containsExactly(BranchState.HEURISTIC_COMMIT);
        assertThat(a.calls(txid)).as("no rollback is sent for work its participant already committed").isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> faulty.table().heuristics().stream()
                .anyMatch(h -> h.txid().equals(txid) && h.branchId().equals("a:1")
                        && h.outcome().equals("HEURISTIC_COMMIT")));
        assertThat(engine.phaseTwo().observedHeuristics()).as("the metric counts it").isEqualTo(1);
    }

    @Test
    void s2ABranchReportedRolledBackAfterAnUnknownCommitAppendDoesNotAbortTheTransaction() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        String txid = beginWithTwoBranches(engine, 30_000);
        faulty.mode = FaultyDecisionLog.Mode.FAIL_UNWRITTEN;
        assertOutcomeUnknown(() -> engine.commit(txid, null, false));
        engine.reportCompletion(txid, "a:1", BranchState.ROLLED_BACK);
        // the COMMIT record may be in the log: still undecided, nothing rolled back (S2)
        assertThat(engine.view(txid).state()).isEqualTo(TxState.PREPARING);
        assertThat(anyRollbackCall(txid) || anyCommitCall(txid)).isFalse();

        faulty.mode = FaultyDecisionLog.Mode.PASS;
        assertThat(engine.commit(txid, null, false).outcome()).isEqualTo(Outcome.COMMITTED);
        await().atMost(Duration.ofSeconds(10)).until(() -> engine.view(txid).state() == TxState.HEURISTIC_MIXED);
        assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        assertThat(a.calls(txid)).extracting(FakeParticipant.Call::kind).containsExactly("prepare");
    }

    private static org.awaitility.core.ConditionFactory fastAwait() {
        return await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(5));
    }

    private static void assertOutcomeUnknown(Runnable r) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(TransactionException.class, e -> {
            assertThat(e.kind()).isEqualTo(TransactionException.Kind.OUTCOME_UNKNOWN);
            assertThat(e.txid()).isNotNull();
            assertThat(e.getMessage()).contains(e.txid()).contains("repeat the commit");
        });
    }

    @Test
    void s3ATxidOfAnOlderEpochIsAbortedUnlessTheLogHoldsItsCommit() throws Exception {
        TransactionEngine first = startEngine(Duration.ofSeconds(2));
        long firstEpoch = first.epoch();
        String active = beginWithTwoBranches(first, 30_000);
        String committedPending = beginWithTwoBranches(first, 30_000);
        String committedDone = beginWithTwoBranches(first, 30_000);
        assertThat(first.commit(committedDone, null, true).outcome()).isEqualTo(Outcome.COMMITTED);
        await().until(() -> first.view(committedDone).state() == TxState.COMMITTED);
        b.failNextPhaseTwoCalls(1_000_000);
        assertThat(first.commit(committedPending, null, false).outcome()).isEqualTo(Outcome.COMMITTED);
        Thread.sleep(100); // let the COMPLETED record of committedDone reach the log
        stopLast();

        TransactionEngine second = startEngine(Duration.ofSeconds(2));
        assertThat(second.epoch()).isGreaterThan(firstEpoch);
        assertThatThrownBy(() -> second.registerBranch(active,
                new BranchRegistration("c:1", "rc", BranchState.ACTIVE, a.callbackUrl())))
                .isInstanceOf(TransactionException.class).hasMessageContaining("no longer active");
        TransactionEngine.Decision d = second.commit(active, null, false);
        assertThat(d.outcome()).isEqualTo(Outcome.ABORTED);
        assertThat(d.presumed()).isTrue();
        assertThat(second.view(active).presumed()).isTrue();
        assertThat(anyCommitCall(active)).isFalse();

        // a COMMIT record in the log wins over the older epoch
        assertThat(second.commit(committedPending, null, false).outcome()).isEqualTo(Outcome.COMMITTED);
        assertThat(second.commit(committedDone, null, false).outcome()).isEqualTo(Outcome.COMMITTED);
        b.failNextPhaseTwoCalls(0);
        await().atMost(Duration.ofSeconds(10)).until(() -> second.view(committedPending).state() == TxState.COMMITTED);
        assertThat(b.state(committedPending, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
        // txids keep growing across epochs
        Txid next = Txid.parse(second.begin(null, null).id());
        assertThat(next.epoch()).isEqualTo(second.epoch());
    }

    @Test
    void s4AbortAtTheDeadlineIsAtomicWithRefusingTheCommit() throws Exception {
        TransactionEngine engine = startEngine(Duration.ofSeconds(2));
        // racing: deadlines of 40-79 ms against commits sent right away by 8 threads; which side wins
        // depends on timing, but every transaction must end all-or-nothing either way
        List<String> racing = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            racing.add(beginRacingItsDeadline(engine, 40L + (i % 40)));
        }
        // controls that make the outcome of each side certain, whatever the machine's speed
        List<String> mustCommit = new ArrayList<>();
        List<String> mustAbort = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            mustCommit.add(beginWithTwoBranches(engine, 30_000));
            mustAbort.add(beginRacingItsDeadline(engine, 1));
        }
        Thread.sleep(50); // every mustAbort deadline has passed: its commit races only the deadline timer
        List<String> all = new ArrayList<>(racing);
        all.addAll(mustCommit);
        all.addAll(mustAbort);
        List<CompletableFuture<Outcome>> outcomes = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            for (String txid : all) {
                outcomes.add(CompletableFuture.supplyAsync(() -> engine.commit(txid, null, false).outcome(), clients));
            }
            for (int i = 0; i < all.size(); i++) {
                String txid = all.get(i);
                Outcome o = outcomes.get(i).join();
                if (mustCommit.contains(txid)) {
                    assertThat(o).as(txid + " had 30 s left").isEqualTo(Outcome.COMMITTED);
                }
                if (mustAbort.contains(txid)) {
                    assertThat(o).as(txid + " was past its deadline").isEqualTo(Outcome.ABORTED);
                }
                if (o == Outcome.COMMITTED) {
                    fastAwait().until(() -> engine.view(txid).state() == TxState.COMMITTED);
                    assertThat(a.state(txid, "a:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
                    assertThat(b.state(txid, "b:1")).isEqualTo(FakeParticipant.Branch.COMMITTED);
                } else {
                    fastAwait().until(() -> engine.view(txid).state() == TxState.ABORTED);
                    assertThat(anyCommitCall(txid)).as("commit call for aborted " + txid).isFalse();
                }
            }
        } finally {
            clients.shutdownNow();
        }
    }
}
