package dev.pledge.coordinator.cluster;

/**
 * Hears about leadership changes of a {@link RaftDecisionLog}'s Raft group, so that the engine can
 * stop issuing txids the moment this node stops leading and start once it leads and is ready.
 *
 * <p>Events are delivered one at a time, in the order Ratis reported them, on the log's completer
 * thread: never block in here. They are hints for reacting quickly; the authority is always
 * {@link RaftDecisionLog#isLeaderReady()} and {@link RaftDecisionLog#currentTerm()} read at the
 * moment of the decision (and a fenced append, {@link RaftDecisionLog#appendAsLeader}).
 */
@FunctionalInterface
public interface LeadershipListener {

    void onLeadershipEvent(LeadershipEvent event);

    /**
     * @param kind     what happened
     * @param term     the Raft term this node was in when Ratis reported it
     * @param leaderId the leader's peer id, or null when no leader is known (always null for
     *                 {@link Kind#LEADERSHIP_LOST})
     */
    record LeadershipEvent(Kind kind, long term, String leaderId) {
    }

    enum Kind {
        /** A leader was elected (possibly this node); reported on every node. */
        LEADER_CHANGED,
        /**
         * This node leads and an entry of its own term is committed and applied here, so every entry
         * of earlier terms is in the table (S3): it may now decide, and issue txids of this term.
         */
        LEADER_READY,
        /** This node stopped leading (stepped down, lost an election, or is shutting down). */
        LEADERSHIP_LOST
    }
}
