/**
 * Cluster mode: the replicated decision log on an embedded Apache Ratis group.
 *
 * <p>What lives here: {@link dev.pledge.coordinator.cluster.RaftDecisionLog} (the
 * {@link dev.pledge.coordinator.log.DecisionLog} of a cluster, plus the leadership and membership
 * API the engine and the operations surface need), its Raft state machine
 * {@link dev.pledge.coordinator.cluster.DecisionStateMachine} (a thin adapter over the same
 * {@link dev.pledge.coordinator.log.DecisionTable} the file log replays into), the entry envelope
 * {@link dev.pledge.coordinator.cluster.RaftEntry} and the snapshot format
 * {@link dev.pledge.coordinator.cluster.DecisionSnapshotFile}, both built on the shared
 * {@link dev.pledge.coordinator.log.LogRecordCodec}, and
 * {@link dev.pledge.coordinator.cluster.SnapshotFallbackRpcType}, Ratis' gRPC transport with a fix
 * for a follower that Ratis 3.2.2 would otherwise never catch up.
 *
 * <p>What it may depend on: the JDK, SLF4J, Apache Ratis and Pledge's {@code log} package. Not the
 * engine, REST or Spring, so that tests, a simulation and the benchmark can drive it directly.
 */
package dev.pledge.coordinator.cluster;
