/**
 * The crash campaign (DESIGN.md §9): {@link dev.pledge.chaos.ChaosCampaign} owns an embedded PostgreSQL and
 * ActiveMQ broker, runs the coordinator jar ({@link dev.pledge.testkit.CoordinatorLaunch}: extracted, with a
 * class-data-sharing archive, for faster start-ups) and the {@link dev.pledge.chaos.Workload} as separate JVMs, SIGKILLs
 * one of them at a named failpoint or a random instant each round, lets the system recover and quiesce, and has
 * {@link dev.pledge.chaos.Invariants} check atomicity, conservation, exactly-once, that no prepared XID of ours
 * is left and that no transaction is undecided. {@link dev.pledge.chaos.CoordinatorGroup} runs one coordinator or a
 * Raft group of three ({@code --cluster 3}). May depend on the participant SDK, protocol, xa-adapters and
 * testkit; never on the coordinator's code (only on its jar, as a process).
 */
package dev.pledge.chaos;
