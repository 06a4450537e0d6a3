/**
 * REST API v1 (shared/design/API.md): controllers, problem+json errors and request limits. Depends
 * on {@code txn}, {@code config} and {@code protocol}; holds no transaction logic of its own.
 */
package dev.pledge.coordinator.api;
