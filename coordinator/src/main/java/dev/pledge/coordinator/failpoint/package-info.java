/** Named failpoints for crash tests (DESIGN.md §9). Depends on nothing else in Pledge. */
package dev.pledge.coordinator.failpoint;
