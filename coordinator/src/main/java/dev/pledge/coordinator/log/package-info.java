/**
 * The decision log: the coordinator's durable memory of its commit decisions.
 *
 * <p>What lives here: the {@link dev.pledge.coordinator.log.DecisionLog} interface and the
 * {@link dev.pledge.coordinator.log.DecisionTable} every implementation replays into, the record
 * kinds ({@link dev.pledge.coordinator.log.LogRecord}) and their versioned binary encoding
 * ({@link dev.pledge.coordinator.log.LogRecordCodec}), and the single-node implementation
 * {@link dev.pledge.coordinator.log.FileDecisionLog} (segmented files, CRC32C frames, group commit,
 * checkpoints). The Raft implementation will live next to it and share the conformance suite.
 *
 * <p>What it may depend on: the JDK and SLF4J only. Nothing else in Pledge (no engine, no REST,
 * no Spring), so that the engine, a simulation and the benchmark can all drive it directly.
 */
package dev.pledge.coordinator.log;
