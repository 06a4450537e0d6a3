/**
 * The JSON records of the REST contract (shared/design/API.md), written once and used by the
 * coordinator, the participant SDK and tests. Plain records and enums; depends on nothing but
 * Jackson's annotations.
 */
package dev.pledge.protocol;
