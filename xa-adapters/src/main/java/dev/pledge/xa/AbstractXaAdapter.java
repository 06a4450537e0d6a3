package dev.pledge.xa;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import dev.pledge.xa.PhaseTwoResult.Outcome;
import dev.pledge.xa.ResourceDiagnostics.PreparedBranch;
import dev.pledge.xa.ResourceHealth.Status;

/**
 * What every adapter does the same way: open a new XA connection per call, run one XA verb on it,
 * close it, classify failures with {@link XaErrors}. Subclasses say how to connect and patch their
 * driver's quirks through the hooks.
 */
abstract class AbstractXaAdapter implements XaResourceAdapter {

    /** Bound on opening a connection (TCP connect + login). */
    static final int CONNECT_TIMEOUT_SECONDS = 5;
    /** Bound on one XA verb or query once connected (a COMMIT PREPARED can wait on fsync, so not too short). */
    static final int OPERATION_TIMEOUT_SECONDS = 30;
    /** Bound on a health check. */
    static final int PING_TIMEOUT_SECONDS = 5;

    /** Recovery scan flags: TMNOFLAGS returns nothing on ActiveMQ, and pgjdbc needs TMSTARTRSCAN. */
    static final int FULL_SCAN = XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN;

    protected final ResourceConfig config;

    AbstractXaAdapter(ResourceConfig config) {
        this.config = config;
    }

    /** A fresh XA connection and its XAResource; {@link #close()} closes everything, best effort. */
    protected interface XaSession extends AutoCloseable {
        XAResource xaResource();

        @Override
        void close();

        static XaSession of(XAResource resource, AutoCloseable... toClose) {
            return new XaSession() {
                @Override
                public XAResource xaResource() {
                    return resource;
                }

                @Override
                public void close() {
                    for (AutoCloseable c : toClose) {
                        try {
                            c.close();
                        } catch (Exception ignored) {
                            // best effort: the verb's outcome is already known, a failed close must not change it
                        }
                    }
                }
            };
        }
    }

    /** Opens a new XA connection; every wait inside must be bounded. */
    protected abstract XaSession open() throws Exception;

    /**
     * Checks that the resource answers within {@link #PING_TIMEOUT_SECONDS}. Returns null when it can
     * hold prepared branches, or what is misconfigured; throws when it cannot be reached.
     */
    protected abstract String probe() throws Exception;

    /** Runs {@code work} within a bound; for drivers whose own timeouts do not cover every wait. */
    protected <T> T bounded(String operation, int timeoutSeconds, Callable<T> work) throws Exception {
        return work.call();
    }

    /** Turns a driver's unclassified exception into the XA code it means (e.g. H2's "not found"). */
    protected XAException translate(XAException e) {
        return e;
    }

    protected void commitPrepared(XAResource resource, Xid xid) throws XAException {
        resource.commit(xid, false);
    }

    protected void rollbackPrepared(XAResource resource, Xid xid) throws XAException {
        resource.rollback(xid);
    }

    /** What diagnostics cannot show for this type, or null. */
    protected String diagnosticsNote() {
        return config.type() + " reports only the XIDs of its prepared branches (no age, owner or locks)";
    }

    @Override
    public String name() {
        return config.name();
    }

    @Override
    public String type() {
        return config.type();
    }

    @Override
    public RecoveredXids recover(String clusterId) {
        try {
            return bounded("recover", OPERATION_TIMEOUT_SECONDS, () -> {
                try (XaSession session = open()) {
                    return RecoveredXids.split(name(), session.xaResource().recover(FULL_SCAN), clusterId);
                }
            });
        } catch (Exception e) {
            throw new XaResourceException(name(), describe() + ": recovery scan failed: " + failureText(e)
                    + ". Nothing was changed; check that the resource is up and the configured user may"
                    + " recover prepared transactions, then scan again.", e);
        }
    }

    @Override
    public PhaseTwoResult commit(Xid xid) {
        return phaseTwo(xid, true);
    }

    @Override
    public PhaseTwoResult rollback(Xid xid) {
        return phaseTwo(xid, false);
    }

    private PhaseTwoResult phaseTwo(Xid xid, boolean commit) {
        if (xid == null) {
            throw new IllegalArgumentException(name() + ": xid is null");
        }
        PhaseTwoResult result;
        try {
            result = bounded(commit ? "commit" : "rollback", OPERATION_TIMEOUT_SECONDS, () -> {
                try (XaSession session = open()) {
                    XAResource resource = session.xaResource();
                    try {
                        if (commit) {
                            commitPrepared(resource, xid);
                        } else {
                            rollbackPrepared(resource, xid);
                        }
                        return PhaseTwoResult.done(commit);
                    } catch (XAException e) {
                        XAException translated = translate(e);
                        PhaseTwoResult classified = XaErrors.classify(translated, commit);
                        if (XaErrors.requiresForget(translated.errorCode)) {
                            classified = classified.withForgotten(forget(resource, xid));
                        }
                        return classified;
                    }
                }
            });
        } catch (Exception e) {
            result = XaErrors.classifyFailure(e, commit);
        }
        if (result.outcome() == Outcome.DONE && result.xaErrorCode() == null) {
            return result;
        }
        return result.withMessage(describe() + ": " + (commit ? "commit" : "rollback") + " of " + xid + ": "
                + result.message() + ". " + nextStep(result));
    }

    @Override
    public PhaseTwoResult forget(Xid xid) {
        if (xid == null) {
            throw new IllegalArgumentException(name() + ": xid is null");
        }
        try {
            return bounded("forget", OPERATION_TIMEOUT_SECONDS, () -> {
                try (XaSession session = open()) {
                    session.xaResource().forget(xid);
                    return PhaseTwoResult.done(false);
                } catch (XAException e) {
                    XAException translated = translate(e);
                    String what = XaErrors.codeName(translated.errorCode)
                            + (translated.getMessage() == null ? "" : ": " + translated.getMessage());
                    if (translated.errorCode == XAException.XAER_NOTA) {
                        return new PhaseTwoResult(Outcome.ALREADY_DONE_NOTA, false, translated.errorCode, false,
                                describe() + ": forget of " + xid + ": " + what + ". The resource holds no heuristic"
                                        + " outcome for this XID; nothing to forget.");
                    }
                    return PhaseTwoResult.retry(false, translated.errorCode, describe() + ": forget of " + xid + ": "
                            + what + ". Nothing was changed; try again once the resource is reachable.");
                }
            });
        } catch (Exception e) {
            PhaseTwoResult failed = XaErrors.classifyFailure(e, false);
            return failed.withMessage(describe() + ": forget of " + xid + ": " + failed.message()
                    + ". Nothing was changed; try again once the resource is reachable.");
        }
    }

    private static boolean forget(XAResource resource, Xid xid) {
        try {
            resource.forget(xid);
            return true;
        } catch (XAException | RuntimeException e) {
            return false;
        }
    }

    private String nextStep(PhaseTwoResult result) {
        switch (result.outcome()) {
            case DONE:
                return "Nothing to do.";
            case ALREADY_DONE_NOTA:
                return result.commit() ? "Recorded as assumed committed (S6); an operator can check the data."
                        : "Nothing to do.";
            case RETRY:
                return "Nothing was decided; retry later (is " + name() + " up and reachable, are its"
                        + " credentials valid?).";
            default:
                return "The resource decided on its own: record the heuristic outcome and show it to an operator"
                        + (XaErrors.requiresForget(result.xaErrorCode() == null ? 0 : result.xaErrorCode())
                                ? (result.forgotten() ? " (forget succeeded)."
                                        : " (forget failed: the resource still remembers the branch; forget it"
                                          + " again once the outcome is recorded).")
                                : ".");
        }
    }

    @Override
    public ResourceHealth ping() {
        long start = System.nanoTime();
        try {
            String problem = bounded("ping", PING_TIMEOUT_SECONDS, this::probe);
            Duration latency = Duration.ofNanos(System.nanoTime() - start);
            return problem == null
                    ? new ResourceHealth(name(), Status.UP, latency, null)
                    : new ResourceHealth(name(), Status.MISCONFIGURED, latency, describe() + ": " + problem);
        } catch (Exception e) {
            return new ResourceHealth(name(), Status.DOWN, Duration.ofNanos(System.nanoTime() - start),
                    describe() + ": not reachable: " + failureText(e)
                            + ". Check that it is running and the url/user/password are right.");
        }
    }

    @Override
    public ResourceDiagnostics diagnostics(String clusterId) {
        RecoveredXids recovered = recover(clusterId);
        List<PreparedBranch> branches = new ArrayList<>();
        for (PledgeXid xid : recovered.ours()) {
            branches.add(new PreparedBranch(xid, true, null, null, null, null, null, List.of()));
        }
        for (ForeignXid xid : recovered.foreign()) {
            branches.add(new PreparedBranch(xid, false, null, null, null, null, null, List.of()));
        }
        return new ResourceDiagnostics(name(), type(), Instant.now(), branches, diagnosticsNote());
    }

    @Override
    public String toString() {
        return describe();
    }

    /** "resource 'orders-db' (postgresql at jdbc:postgresql://host:5432/orders)" - never with secrets. */
    protected String describe() {
        return "resource '" + name() + "' (" + type() + " at " + safeUrl(config.url()) + ")";
    }

    /** The URL without its parameters, which may carry credentials. */
    static String safeUrl(String url) {
        int cut = url.length();
        for (char c : new char[] {'?', ';'}) {
            int i = url.indexOf(c);
            if (i >= 0 && i < cut) {
                cut = i;
            }
        }
        return url.substring(0, cut);
    }

    /** The exception and its root cause, one line. */
    static String failureText(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = e.getClass().getSimpleName() + ": " + e.getMessage();
        if (e instanceof XAException) {
            text = XaErrors.codeName(((XAException) e).errorCode) + " " + text;
        }
        if (root != e) {
            text += " (cause: " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        return text;
    }

    /** True when a JDBC URL sets the given parameter itself (we then leave it alone). */
    static boolean urlSets(String url, String parameter) {
        return url.toLowerCase().contains(parameter.toLowerCase() + "=");
    }
}
