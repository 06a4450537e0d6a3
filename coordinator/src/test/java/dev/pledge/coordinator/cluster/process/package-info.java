/**
 * Process-level tests of replicated mode: coordinator JVMs started from the packaged jar
 * (testkit {@code CoordinatorProcess}) forming a Raft group on loopback, real faults (SIGKILL,
 * SIGSTOP/SIGCONT, cut TCP connections) and invariants checked against participants that live in
 * the test JVM. Run by failsafe ({@code *IT}); depends on the testkit, not on coordinator internals.
 */
package dev.pledge.coordinator.cluster.process;
