package dev.pledge.sdk.boot;

import dev.pledge.sdk.jta.JoinedTransactions;
import dev.pledge.sdk.jta.PledgeTransactionManager.ResourceCheck;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every {@code pledge.*} setting of a participant application. The SDK is active once
 * {@code pledge.coordinator.url} is set.
 *
 * @param coordinator how to reach the coordinator
 * @param participant this process as a participant: instance id, timeouts, start-up resource check
 * @param datasources XA databases by resource name (the name the coordinator knows them by, and the bean name)
 * @param jms         XA brokers (ActiveMQ Classic) by resource name (also the bean name)
 */
@ConfigurationProperties("pledge")
public record PledgeProperties(@DefaultValue Coordinator coordinator, @DefaultValue Participant participant,
                               Map<String, Database> datasources, Map<String, Broker> jms) {

    public PledgeProperties {
        datasources = datasources == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(datasources));
        jms = jms == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(jms));
    }

    /**
     * @param url            base URL of the coordinator, e.g. http://localhost:8080; several, comma-separated, for a cluster
     * @param token          bearer token with the PARTICIPANT role
     * @param connectTimeout TCP connect timeout of one call
     * @param requestTimeout bound on one HTTP exchange
     * @param initialBackoff first pause before retrying a failed call (doubles, with jitter)
     * @param maxBackoff     longest pause between retries
     * @param maxRetryTime   total time one call may spend retrying (connection errors, 503 + Retry-After)
     */
    public record Coordinator(String url, String token,
                              @DefaultValue("2s") Duration connectTimeout,
                              @DefaultValue("30s") Duration requestTimeout,
                              @DefaultValue("50ms") Duration initialBackoff,
                              @DefaultValue("2s") Duration maxBackoff,
                              @DefaultValue("15s") Duration maxRetryTime) {
        /** Never prints the token. */
        @Override
        public String toString() {
            return "Coordinator[url=" + url + ", token=" + (token == null ? "null" : "****") + "]";
        }
    }

    /**
     * @param instanceId     this process in branch ids, unique among the processes of one transaction
     *                       (1-24 of [A-Za-z0-9._-]); generated when absent
     * @param defaultTimeout transaction timeout when none is set (e.g. by @Transactional(timeout = ...))
     * @param outcomeWait    how long a commit keeps asking for a decision it could not learn before it leaves the
     *                       prepared branches to the coordinator and fails (safety rule S8)
     * @param maxBranches    branches one transaction may enlist in this process
     * @param resourceCheck  at start-up, what to do when the coordinator cannot reach one of this process's
     *                       resources: fail (default), warn or off
     * @param callbackUrl    base URL at which the coordinator reaches this service's participant callbacks
     *                       (prepare/commit/rollback of branches joined through Pledge-Txid); its path is where they
     *                       are served. Default: http://HOST:PORT/CONTEXT-PATH/pledge/participant with server.address or this
     *                       host's address, the port the server listens on and the servlet context path; set it
     *                       whenever the coordinator reaches this service by another name (containers, proxies)
     * @param callbackToken  bearer token the coordinator must send to the callbacks (its
     *                       pledge.security.callback-token); default: pledge.coordinator.token
     * @param joinMode       how a request that carries Pledge-Txid takes part: parked (default; its branch is
     *                       registered ACTIVE and kept open, with its connection, until the coordinator prepares it,
     *                       so several calls share one branch) or early-prepare (prepared and registered PREPARED at
     *                       the end of each request)
     * @param maxJoined      transactions of other services this one works in at once (each holds its parked
     *                       connections); a request for one more is refused with 503
     */
    public record Participant(String instanceId,
                              @DefaultValue("30s") Duration defaultTimeout,
                              @DefaultValue("60s") Duration outcomeWait,
                              @DefaultValue("64") int maxBranches,
                              @DefaultValue("fail") ResourceCheck resourceCheck,
                              String callbackUrl,
                              String callbackToken,
                              @DefaultValue("parked") JoinedTransactions.Mode joinMode,
                              @DefaultValue("256") int maxJoined) {
        /** Never prints the token. */
        @Override
        public String toString() {
            return "Participant[instanceId=" + instanceId + ", defaultTimeout=" + defaultTimeout + ", callbackUrl="
                    + callbackUrl + ", callbackToken=" + (callbackToken == null ? "null" : "****") + ", joinMode="
                    + joinMode + "]";
        }
    }

    /**
     * @param url                JDBC URL
     * @param user               database user
     * @param password           database password
     * @param type               postgresql or h2; taken from the URL when absent
     * @param maxSize            most connections in the pool
     * @param acquisitionTimeout how long getConnection() waits for a free connection
     * @param resourceName       the coordinator's name for this database when it differs from the key
     */
    public record Database(String url, String user, String password, String type,
                           @DefaultValue("10") int maxSize,
                           @DefaultValue("30s") Duration acquisitionTimeout,
                           String resourceName) {
        @Override
        public String toString() {
            return "Database[url=" + url + ", user=" + user + ", type=" + type + ", maxSize=" + maxSize + "]";
        }
    }

    /**
     * @param brokerUrl      e.g. tcp://localhost:61616
     * @param user           broker user
     * @param password       broker password
     * @param maxConnections connections to the broker (sessions are pooled per connection)
     * @param resourceName   the coordinator's name for this broker when it differs from the key
     */
    public record Broker(String brokerUrl, String user, String password,
                         @DefaultValue("1") int maxConnections,
                         String resourceName) {
        @Override
        public String toString() {
            return "Broker[brokerUrl=" + brokerUrl + ", user=" + user + ", maxConnections=" + maxConnections + "]";
        }
    }
}
