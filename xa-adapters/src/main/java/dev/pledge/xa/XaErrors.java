package dev.pledge.xa;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;

import dev.pledge.xa.PhaseTwoResult.Outcome;

/**
 * The one place where phase-2 failures are classified (safety rule S6, DESIGN.md §4).
 *
 * <table>
 * <caption>XAException codes on phase-2 commit / rollback of a prepared branch</caption>
 * <tr><th>code</th><th>commit</th><th>rollback</th></tr>
 * <tr><td>XAER_NOTA</td><td>ALREADY_DONE_NOTA ("assumed committed")</td><td>ALREADY_DONE_NOTA (already rolled back)</td></tr>
 * <tr><td>XA_HEURCOM / HEURRB / HEURMIX / HEURHAZ</td><td colspan="2">HEURISTIC_COMMIT / _ROLLBACK / _MIXED / _HAZARD, then forget</td></tr>
 * <tr><td>XA_RB* (100-107)</td><td>HEURISTIC_ROLLBACK (no forget)</td><td>DONE</td></tr>
 * <tr><td>XA_RDONLY</td><td colspan="2">DONE</td></tr>
 * <tr><td>XA_RETRY, XAER_RMFAIL, XAER_RMERR, everything else</td><td colspan="2">RETRY</td></tr>
 * </table>
 *
 * <p>Why these choices:
 * <ul>
 * <li>XA_RB* on commit: the XA spec lets {@code xa_commit} report that the resource rolled the branch
 * back. For a branch that voted yes that is a broken pledge, the same damage as a heuristic rollback,
 * so it is surfaced as one; the resource has already forgotten the branch, so there is nothing to
 * {@code forget}. On rollback it is simply what we asked for.</li>
 * <li>XAER_RMERR: the resource may or may not still hold the branch; retrying is safe, because a
 * resource that forgot it answers XAER_NOTA next time.</li>
 * <li>XAER_PROTO / XAER_INVAL / unknown codes: nothing was decided by the resource, and treating
 * them as done could lose a prepared branch; retry, and the message carries the code for an operator
 * (a branch that keeps failing shows up as stuck in-doubt).</li>
 * </ul>
 */
public final class XaErrors {

    private XaErrors() {
    }

    /** Classifies an XAException thrown by a phase-2 {@code commit} ({@code commit = true}) or {@code rollback}. */
    public static PhaseTwoResult classify(XAException e, boolean commit) {
        int code = e.errorCode;
        String what = codeName(code) + (e.getMessage() == null ? "" : ": " + e.getMessage());
        if (code >= XAException.XA_RBBASE && code <= XAException.XA_RBEND) {
            return commit
                    ? new PhaseTwoResult(Outcome.HEURISTIC_ROLLBACK, true, code, false,
                            what + " - the resource rolled back a prepared branch instead of committing it")
                    : new PhaseTwoResult(Outcome.DONE, false, code, false, what);
        }
        switch (code) {
            case XAException.XAER_NOTA:
                return new PhaseTwoResult(Outcome.ALREADY_DONE_NOTA, commit, code, false, what
                        + (commit ? " - the resource does not know the branch: assumed committed"
                                  : " - the resource does not know the branch: already rolled back"));
            case XAException.XA_HEURCOM:
                return new PhaseTwoResult(Outcome.HEURISTIC_COMMIT, commit, code, false, what);
            case XAException.XA_HEURRB:
                return new PhaseTwoResult(Outcome.HEURISTIC_ROLLBACK, commit, code, false, what);
            case XAException.XA_HEURMIX:
                return new PhaseTwoResult(Outcome.HEURISTIC_MIXED, commit, code, false, what);
            case XAException.XA_HEURHAZ:
                return new PhaseTwoResult(Outcome.HEURISTIC_HAZARD, commit, code, false, what);
            case XAException.XA_RDONLY:
                return new PhaseTwoResult(Outcome.DONE, commit, code, false, what);
            default:
                return PhaseTwoResult.retry(commit, code, what);
        }
    }

    /**
     * Phase 2 of a prepared branch on a resource the caller holds: {@code commit(xid, false)} or
     * {@code rollback(xid)}, and whatever it throws classified as above. Never throws.
     */
    public static PhaseTwoResult finish(XAResource resource, Xid xid, boolean commit) {
        try {
            if (commit) {
                resource.commit(xid, false);
            } else {
                resource.rollback(xid);
            }
            return PhaseTwoResult.done(commit);
        } catch (XAException e) {
            return classify(e, commit);
        } catch (RuntimeException e) {
            return classifyFailure(e, commit);
        }
    }

    /** Any other failure of a phase-2 call (SQLException, JMSException, I/O, timeout): nothing decided, retry. */
    public static PhaseTwoResult classifyFailure(Throwable failure, boolean commit) {
        if (failure instanceof XAException) {
            return classify((XAException) failure, commit);
        }
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = failure.getClass().getSimpleName() + ": " + failure.getMessage();
        if (root != failure) {
            text += " (cause: " + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        return PhaseTwoResult.retry(commit, null, text);
    }

    /** True when the resource keeps a heuristic record that {@code forget(xid)} must clear (XA_HEUR* only). */
    public static boolean requiresForget(int errorCode) {
        return errorCode == XAException.XA_HEURCOM || errorCode == XAException.XA_HEURRB
                || errorCode == XAException.XA_HEURMIX || errorCode == XAException.XA_HEURHAZ;
    }

    /** The constant's name, e.g. {@code XAER_RMFAIL(-7)}. */
    public static String codeName(int code) {
        String name;
        switch (code) {
            case XAException.XA_RBROLLBACK: name = "XA_RBROLLBACK"; break;
            case XAException.XA_RBCOMMFAIL: name = "XA_RBCOMMFAIL"; break;
            case XAException.XA_RBDEADLOCK: name = "XA_RBDEADLOCK"; break;
            case XAException.XA_RBINTEGRITY: name = "XA_RBINTEGRITY"; break;
            case XAException.XA_RBOTHER: name = "XA_RBOTHER"; break;
            case XAException.XA_RBPROTO: name = "XA_RBPROTO"; break;
            case XAException.XA_RBTIMEOUT: name = "XA_RBTIMEOUT"; break;
            case XAException.XA_RBTRANSIENT: name = "XA_RBTRANSIENT"; break;
            case XAException.XA_NOMIGRATE: name = "XA_NOMIGRATE"; break;
            case XAException.XA_HEURHAZ: name = "XA_HEURHAZ"; break;
            case XAException.XA_HEURCOM: name = "XA_HEURCOM"; break;
            case XAException.XA_HEURRB: name = "XA_HEURRB"; break;
            case XAException.XA_HEURMIX: name = "XA_HEURMIX"; break;
            case XAException.XA_RETRY: name = "XA_RETRY"; break;
            case XAException.XA_RDONLY: name = "XA_RDONLY"; break;
            case 0: name = "no XA error code"; break;
            case XAException.XAER_ASYNC: name = "XAER_ASYNC"; break;
            case XAException.XAER_RMERR: name = "XAER_RMERR"; break;
            case XAException.XAER_NOTA: name = "XAER_NOTA"; break;
            case XAException.XAER_INVAL: name = "XAER_INVAL"; break;
            case XAException.XAER_PROTO: name = "XAER_PROTO"; break;
            case XAException.XAER_RMFAIL: name = "XAER_RMFAIL"; break;
            case XAException.XAER_DUPID: name = "XAER_DUPID"; break;
            case XAException.XAER_OUTSIDE: name = "XAER_OUTSIDE"; break;
            default: name = "unknown XA error code"; break;
        }
        return name + "(" + code + ")";
    }
}
