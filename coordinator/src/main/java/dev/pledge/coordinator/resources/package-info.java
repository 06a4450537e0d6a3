/**
 * The registry of resource managers the coordinator reaches itself (XA bridging, recovery scans),
 * built from {@code pledge.resources.*}. Depends on {@code xa-adapters}, {@code txn} (implements its
 * {@link dev.pledge.coordinator.txn.XaBridge} port) and {@code config}.
 */
package dev.pledge.coordinator.resources;
