package dev.pledge.xa;

import dev.pledge.xa.PhaseTwoResult.Outcome;
import org.junit.jupiter.api.Test;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shared phase-2 path with a scripted XAResource, for what no real server here can be made to
 * do: heuristic outcomes and the forget that must follow them.
 */
class AbstractXaAdapterTest {

    @Test
    void heuristicOutcomeIsForgottenAndReportedWithTheResourceName() {
        ScriptedAdapter adapter = new ScriptedAdapter(XAException.XA_HEURMIX, false);
        PledgeXid xid = TestXids.ours("b1");

        PhaseTwoResult result = adapter.commit(xid);

        assertThat(result.outcome()).isEqualTo(Outcome.HEURISTIC_MIXED);
        assertThat(result.forgotten()).isTrue();
        assertThat(adapter.calls).containsExactly("commit " + xid, "forget " + xid, "close");
        assertThat(result.message()).contains("resource 'scripted'").contains("XA_HEURMIX").contains("operator");
    }

    @Test
    void failedForgetIsReportedNotThrown() {
        ScriptedAdapter adapter = new ScriptedAdapter(XAException.XA_HEURHAZ, true);

        PhaseTwoResult result = adapter.rollback(TestXids.ours("b1"));

        assertThat(result.outcome()).isEqualTo(Outcome.HEURISTIC_HAZARD);
        assertThat(result.forgotten()).isFalse();
        assertThat(result.message()).contains("forget failed");
    }

    @Test
    void rollbackOnlyCodeOnCommitIsNotForgotten() {
        ScriptedAdapter adapter = new ScriptedAdapter(XAException.XA_RBDEADLOCK, false);

        PhaseTwoResult result = adapter.commit(TestXids.ours("b1"));

        assertThat(result.outcome()).isEqualTo(Outcome.HEURISTIC_ROLLBACK);
        assertThat(adapter.calls).noneMatch(c -> c.startsWith("forget"));
    }

    @Test
    void successIsDoneWithoutMessageAndTheConnectionIsClosed() {
        ScriptedAdapter adapter = new ScriptedAdapter(null, false);

        PhaseTwoResult result = adapter.commit(TestXids.ours("b1"));

        assertThat(result).isEqualTo(PhaseTwoResult.done(true));
        assertThat(adapter.calls).last().isEqualTo("close");
    }

    @Test
    void urlParametersAreNeverShownBecauseTheyMayCarryCredentials() {
        assertThat(AbstractXaAdapter.safeUrl("jdbc:postgresql://h:5432/db?password=secret")).isEqualTo("jdbc:postgresql://h:5432/db");
        assertThat(AbstractXaAdapter.safeUrl("jdbc:h2:tcp://h/db;PASSWORD=secret")).isEqualTo("jdbc:h2:tcp://h/db");
    }

    /** An adapter whose "connection" throws the given code on commit/rollback and records every call. */
    private static final class ScriptedAdapter extends AbstractXaAdapter {
        final List<String> calls = new ArrayList<>();
        final Integer errorCode;
        final boolean forgetFails;

        ScriptedAdapter(Integer errorCode, boolean forgetFails) {
            super(new ResourceConfig("scripted", "postgresql", "jdbc:postgresql://nowhere/db", null, null));
            this.errorCode = errorCode;
            this.forgetFails = forgetFails;
        }

        @Override
        protected XaSession open() {
            XAResource resource = new XAResource() {
                public void commit(Xid xid, boolean onePhase) throws XAException {
                    calls.add("commit " + xid);
                    fail();
                }

                public void rollback(Xid xid) throws XAException {
                    calls.add("rollback " + xid);
                    fail();
                }

                public void forget(Xid xid) throws XAException {
                    calls.add("forget " + xid);
                    if (forgetFails) {
                        throw new XAException(XAException.XAER_RMFAIL);
                    }
                }

                private void fail() throws XAException {
                    if (errorCode != null) {
                        throw new XAException(errorCode);
                    }
                }

                public void end(Xid xid, int flags) {
                }

                public int getTransactionTimeout() {
                    return 0;
                }

                public boolean isSameRM(XAResource other) {
                    return other == this;
                }

                public int prepare(Xid xid) {
                    return XA_OK;
                }

                public Xid[] recover(int flag) {
                    return new Xid[0];
                }

                public boolean setTransactionTimeout(int seconds) {
                    return false;
                }

                public void start(Xid xid, int flags) {
                }
            };
            return XaSession.of(resource, () -> calls.add("close"));
        }

        @Override
        protected String probe() {
            return null;
        }
    }
}
