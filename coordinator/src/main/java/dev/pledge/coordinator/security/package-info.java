/**
 * Authentication of API callers: bearer tokens (bootstrap and per-service, stored hashed) mapped to
 * the roles VIEWER, PARTICIPANT and OPERATOR. Depends on {@code config} and {@code api} (problem responses).
 */
package dev.pledge.coordinator.security;
