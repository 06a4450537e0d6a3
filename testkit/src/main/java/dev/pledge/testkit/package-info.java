/**
 * Shared test infrastructure: real servers started in-process (embedded PostgreSQL, ActiveMQ with
 * KahaDB, H2 TCP), a TCP proxy that cuts connections, a coordinator started as a separate JVM, a fake
 * participant serving the callback endpoints, and a plain REST client. Used only from tests and
 * benchmark/chaos programs; depends on nothing else in Pledge.
 */
package dev.pledge.testkit;
