package dev.pledge.coordinator.config;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Every {@code pledge.*} setting of the coordinator, validated at start-up: a bad value stops the
 * coordinator with a message naming the property and the allowed range.
 *
 * @param dataDir           where the decision log (and the generated token hash) live
 * @param clusterId         first part of every txid, [a-z0-9-]{1,12}
 * @param nodeId            this node's name in {@code /api/v1/cluster}
 * @param publicUrl         base URL participants and operators use to reach this node (default http://localhost:port)
 * @param transaction       timeouts of global transactions
 * @param participant       calls to participant callbacks
 * @param phaseTwo          retrying phase 2 forever
 * @param resources         resource managers the coordinator can reach (XA bridging, recovery)
 * @param security          API tokens
 * @param recovery          the orphan scanner
 * @param cluster           single node (file log) or a Raft group (replicated log)
 * @param failpoint         test-only: a named protocol point where the process halts or pauses
 */
@ConfigurationProperties("pledge")
public record PledgeProperties(
        @DefaultValue("./pledge-data") Path dataDir,
        @DefaultValue("pledge") String clusterId,
        @DefaultValue("node-1") String nodeId,
        String publicUrl,
        @DefaultValue Transaction transaction,
        @DefaultValue Participant participant,
        @DefaultValue PhaseTwo phaseTwo,
        Map<String, Resource> resources,
        @DefaultValue Security security,
        @DefaultValue Recovery recovery,
        @DefaultValue Cluster cluster,
        @DefaultValue Failpoint failpoint) {

    private static final Pattern CLUSTER_ID = Pattern.compile("[a-z0-9-]{1,12}");

    public PledgeProperties {
        if (!CLUSTER_ID.matcher(clusterId).matches()) {
            throw new IllegalArgumentException("pledge.cluster-id='" + clusterId
                    + "' is invalid: use 1-12 characters of [a-z0-9-]");
        }
        resources = resources == null ? Map.of() : Map.copyOf(resources);
    }

    /**
     * @param defaultTimeout deadline of a transaction that asks for none
     * @param maxTimeout     the longest deadline a client may ask for
     * @param maxBranches    branches one transaction may have
     * @param maxActive      transactions not yet decided at once (back-pressure)
     * @param historySize    decided transactions kept in memory for outcome queries
     */
    public record Transaction(@DefaultValue("30s") Duration defaultTimeout,
                              @DefaultValue("10m") Duration maxTimeout,
                              @DefaultValue("64") int maxBranches,
                              @DefaultValue("100000") int maxActive,
                              @DefaultValue("100000") int historySize) {
        public Transaction {
            requirePositive("pledge.transaction.default-timeout", defaultTimeout);
            requirePositive("pledge.transaction.max-timeout", maxTimeout);
            requireRange("pledge.transaction.max-branches", maxBranches, 1, 1024);
            requireRange("pledge.transaction.max-active", maxActive, 1, 10_000_000);
            requireRange("pledge.transaction.history-size", historySize, 0, 10_000_000);
        }
    }

    /**
     * @param prepareTimeout   how long a PREPARE call may take before it counts as an ABORT vote
     * @param callTimeout      phase-2 and rollback calls
     * @param connectTimeout   TCP connect to a participant
     * @param completionGrace  how long to wait for a branch without callback to report its own phase 2
     */
    public record Participant(@DefaultValue("10s") Duration prepareTimeout,
                              @DefaultValue("10s") Duration callTimeout,
                              @DefaultValue("2s") Duration connectTimeout,
                              @DefaultValue("5s") Duration completionGrace) {
        public Participant {
            requirePositive("pledge.participant.prepare-timeout", prepareTimeout);
            requirePositive("pledge.participant.call-timeout", callTimeout);
            requirePositive("pledge.participant.connect-timeout", connectTimeout);
            requirePositive("pledge.participant.completion-grace", completionGrace);
        }
    }

    /**
     * @param initialBackoff first retry delay of a failed phase-2 call
     * @param maxBackoff     cap of the doubling delay
     * @param appendTimeout  how long a commit waits for the COMMIT record to become durable before
     *                       answering "outcome unknown" (S2)
     */
    public record PhaseTwo(@DefaultValue("100ms") Duration initialBackoff,
                           @DefaultValue("60s") Duration maxBackoff,
                           @DefaultValue("10s") Duration appendTimeout) {
        public PhaseTwo {
            requirePositive("pledge.phase-two.initial-backoff", initialBackoff);
            requirePositive("pledge.phase-two.max-backoff", maxBackoff);
            requirePositive("pledge.phase-two.append-timeout", appendTimeout);
            if (maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("pledge.phase-two.max-backoff (" + maxBackoff
                        + ") must not be shorter than pledge.phase-two.initial-backoff (" + initialBackoff + ")");
            }
        }
    }

    /**
     * @param bootstrapToken    plain token holding every role; normally from the environment variable
     *                          PLEDGE_BOOTSTRAP_TOKEN. Absent, one is generated at first start, stored hashed
     *                          in the data dir, and printed once.
     * @param tokens            service tokens by name: SHA-256 hex of the token and its roles
     * @param callbackToken     bearer token sent to participant callbacks (default: the bootstrap token)
     * @param maxRequestBytes   largest request body accepted
     */
    public record Security(String bootstrapToken, Map<String, ServiceToken> tokens, String callbackToken,
                           @DefaultValue("65536") int maxRequestBytes) {
        public Security {
            tokens = tokens == null ? Map.of() : Map.copyOf(tokens);
            requireRange("pledge.security.max-request-bytes", maxRequestBytes, 1024, 16 * 1024 * 1024);
        }

        @Override
        public String toString() {
            return "Security[tokens=" + tokens.keySet() + ", maxRequestBytes=" + maxRequestBytes + "]";
        }
    }

    /** A service's API token: {@code sha256} is the lowercase hex SHA-256 of the token; roles VIEWER, PARTICIPANT, OPERATOR. */
    public record ServiceToken(String sha256, java.util.List<String> roles) {
    }

    /**
     * @param enabled                run the orphan scanner at start-up and periodically
     * @param scanInterval           time between recovery scans of every resource
     * @param orphanSafetyInterval   an orphan is rolled back only when seen prepared in two scans at least
     *                               this far apart (S5, Narayana's two-scan rule)
     */
    public record Recovery(@DefaultValue("true") boolean enabled,
                           @DefaultValue("30s") Duration scanInterval,
                           @DefaultValue("60s") Duration orphanSafetyInterval) {
        public Recovery {
            requirePositive("pledge.recovery.scan-interval", scanInterval);
            requirePositive("pledge.recovery.orphan-safety-interval", orphanSafetyInterval);
        }
    }

    /**
     * @param mode                 {@code single} (file log, the default) or {@code raft}
     * @param peers                raft mode: every member as {@code id@raftHost:raftPort@apiUrl}, comma-separated;
     *                             this node is the one whose id is {@code pledge.node-id}
     * @param electionTimeoutMin   Raft election timeout range (default 500 ms - 1 s): sized for a JVM's young-GC
     *                             pauses, not Ratis' 150-300 ms; raise both for large heaps or long pauses
     * @param electionTimeoutMax   upper end of that range
     * @param snapshotThreshold    log entries between state-machine snapshots
     * @param requestTimeout       how long an append may wait for a majority before its outcome is unknown (S2)
     * @param joining              start as a new member being added to a running group (no initial configuration)
     */
    public record Cluster(@DefaultValue("single") String mode, @DefaultValue("") String peers,
                          @DefaultValue("500ms") Duration electionTimeoutMin, @DefaultValue("1s") Duration electionTimeoutMax,
                          @DefaultValue("10000") long snapshotThreshold, @DefaultValue("8s") Duration requestTimeout,
                          @DefaultValue("false") boolean joining) {
        public Cluster {
            if (!mode.equals("single") && !mode.equals("raft")) {
                throw new IllegalArgumentException("pledge.cluster.mode='" + mode + "' is invalid: use single or raft");
            }
            if (mode.equals("raft") && peers.isBlank()) {
                throw new IllegalArgumentException("pledge.cluster.mode=raft needs pledge.cluster.peers"
                        + " (id@raftHost:raftPort@apiUrl, comma-separated)");
            }
            requirePositive("pledge.cluster.election-timeout-min", electionTimeoutMin);
            requirePositive("pledge.cluster.election-timeout-max", electionTimeoutMax);
            requirePositive("pledge.cluster.request-timeout", requestTimeout);
            if (electionTimeoutMax.compareTo(electionTimeoutMin) <= 0) {
                throw new IllegalArgumentException("pledge.cluster.election-timeout-max must be longer than election-timeout-min");
            }
        }

        public boolean raft() {
            return mode.equals("raft");
        }

        /** One member: its id, Raft address and API base URL. */
        public record Member(String id, String raftAddress, String apiUrl) {
        }

        public java.util.List<Member> members() {
            java.util.List<Member> out = new java.util.ArrayList<>();
            for (String part : peers.split(",")) {
                String s = part.trim();
                if (s.isEmpty()) {
                    continue;
                }
                String[] f = s.split("@", 3);
                if (f.length != 3 || f[0].isBlank() || f[1].isBlank() || !f[2].startsWith("http")) {
                    throw new IllegalArgumentException("pledge.cluster.peers entry '" + s
                            + "' is invalid: use id@raftHost:raftPort@http://apiHost:apiPort");
                }
                out.add(new Member(f[0], f[1], f[2].replaceAll("/+$", "")));
            }
            return out;
        }
    }

    /** A resource manager: type postgresql | h2 | activemq, connection URL and credentials. */
    public record Resource(String type, String url, String user, String password) {
        @Override
        public String toString() {
            return "Resource[type=" + type + ", url=" + url + ", user=" + user + ", password=***]";
        }
    }

    /**
     * @param name   the failpoint to arm (empty: none); see {@code Failpoints} for the names
     * @param action HALT (Runtime.halt) or PAUSE (print and block, for a SIGKILL from outside)
     * @param skip   hits to let pass before it fires
     */
    public record Failpoint(@DefaultValue("") String name, @DefaultValue("HALT") String action,
                            @DefaultValue("0") int skip) {
    }

    private static void requirePositive(String property, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(property + "=" + value + " is invalid: use a positive duration such as 5s");
        }
    }

    private static void requireRange(String property, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(property + "=" + value + " is out of range: use " + min + ".." + max);
        }
    }
}
