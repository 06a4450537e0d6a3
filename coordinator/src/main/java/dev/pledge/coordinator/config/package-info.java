/** The coordinator's {@code pledge.*} configuration and the wiring of its parts. May depend on every coordinator package. */
package dev.pledge.coordinator.config;
