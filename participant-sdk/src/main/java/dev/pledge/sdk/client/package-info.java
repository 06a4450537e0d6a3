/**
 * The HTTP client of the coordinator's REST API (API.md): {@link dev.pledge.sdk.client.CoordinatorClient}
 * and the typed {@link dev.pledge.sdk.client.PledgeException} hierarchy its problem+json answers become.
 * Depends on the {@code protocol} records, the JDK {@code HttpClient} and Jackson; nothing else of the SDK.
 */
package dev.pledge.sdk.client;
