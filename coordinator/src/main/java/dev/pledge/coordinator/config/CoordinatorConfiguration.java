package dev.pledge.coordinator.config;

import dev.pledge.coordinator.api.ContainerProblemValve;
import dev.pledge.coordinator.api.LeaderRedirectFilter;
import dev.pledge.coordinator.api.Leadership;
import dev.pledge.coordinator.api.PublicUrl;
import dev.pledge.coordinator.cluster.RaftDecisionLog;
import dev.pledge.coordinator.api.RequestLimitFilter;
import dev.pledge.coordinator.failpoint.Failpoints;
import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.log.FileDecisionLog;
import dev.pledge.coordinator.participant.HttpParticipantGateway;
import dev.pledge.coordinator.security.TokenStore;
import dev.pledge.coordinator.txn.ParticipantGateway;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.coordinator.admin.AdminActions;
import dev.pledge.coordinator.recovery.OrphanScanner;
import dev.pledge.coordinator.resources.ResourceRegistry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

/** Wires the coordinator's parts; the engine is started (log replayed, epoch forced) before the web server opens. */
@Configuration
public class CoordinatorConfiguration {

    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }

    @Bean(destroyMethod = "shutdownNow")
    ScheduledExecutorService pledgeScheduler() {
        AtomicInteger n = new AtomicInteger();
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "pledge-scheduler-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        return executor;
    }

    @Bean(destroyMethod = "shutdownNow")
    ExecutorService participantCallExecutor() {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "pledge-participant-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Bean(destroyMethod = "close")
    DecisionLog decisionLog(PledgeProperties props) {
        if (!props.cluster().raft()) {
            return new FileDecisionLog(props.dataDir().resolve("log"));
        }
        PledgeProperties.Cluster c = props.cluster();
        List<RaftDecisionLog.Peer> peers = c.members().stream()
                .map(m -> RaftDecisionLog.Peer.of(m.id(), m.raftAddress())).toList();
        if (peers.stream().noneMatch(p -> p.id().equals(props.nodeId()))) {
            throw new IllegalArgumentException("pledge.node-id='" + props.nodeId() + "' is not one of pledge.cluster.peers "
                    + c.members().stream().map(PledgeProperties.Cluster.Member::id).toList());
        }
        return new RaftDecisionLog(RaftDecisionLog.Options.of(props.clusterId(), props.nodeId(), peers,
                        props.dataDir().resolve("raft"))
                .withElectionTimeout(c.electionTimeoutMin(), c.electionTimeoutMax())
                .withSnapshotThreshold(c.snapshotThreshold())
                .withRequestTimeout(c.requestTimeout())
                .joining(c.joining()));
    }

    @Bean
    Leadership leadership(PledgeProperties props, DecisionLog decisionLog, PublicUrl publicUrl) {
        if (decisionLog instanceof RaftDecisionLog raft) {
            return new RaftLeadership(raft, props.cluster().members());
        }
        return new Leadership() {
            public String role() { return "SINGLE"; }
            public Optional<String> leaderApiUrl() { return Optional.of(publicUrl.get()); }
            public long term() { return 0; }
            public List<String> peers() { return List.of(); }
            public Long commitIndex() { return null; }
            public Long appliedIndex() { return null; }
            public boolean replicated() { return false; }
        };
    }

    @Bean
    ParticipantGateway participantGateway(PledgeProperties props, JsonMapper json, TokenStore tokens,
                                          ExecutorService participantCallExecutor) {
        String token = props.security().callbackToken() != null ? props.security().callbackToken()
                : tokens.bootstrapToken().orElse(null);
        return new HttpParticipantGateway(json, token, props.nodeId(), props.participant().connectTimeout(),
                props.participant().callTimeout(), participantCallExecutor);
    }

    @Bean(destroyMethod = "close")
    ResourceRegistry resourceRegistry(PledgeProperties props, Clock clock) {
        return new ResourceRegistry(props, clock);
    }

    @Bean
    TransactionEngine transactionEngine(PledgeProperties props, DecisionLog decisionLog, ParticipantGateway gateway,
                                        ResourceRegistry resources, Clock clock, ScheduledExecutorService pledgeScheduler)
            throws IOException {
        Failpoints.arm(props.failpoint().name(), Failpoints.Action.valueOf(props.failpoint().action().toUpperCase()),
                props.failpoint().skip());
        TransactionEngine engine = new TransactionEngine(props, decisionLog, gateway, resources, props.resources().keySet(),
                clock, pledgeScheduler);
        if (decisionLog instanceof RaftDecisionLog raft) {
            // Epoch = Raft term: the engine decides only while this node is a ready leader.
            raft.addLeadershipListener(event -> pledgeScheduler.execute(() -> {
                switch (event.kind()) {
                    case LEADER_READY -> raft.readyLeaderTerm().ifPresent(engine::becomeLeader);
                    case LEADERSHIP_LOST -> engine.stepDown();
                    default -> {
                        if (!raft.isLeader()) {
                            engine.stepDown();
                        }
                    }
                }
            }));
            raft.open();
            raft.readyLeaderTerm().ifPresent(engine::becomeLeader);
        } else {
            engine.start();
        }
        return engine;
    }

    @Bean
    AdminActions adminActions(TransactionEngine engine, DecisionLog decisionLog, ResourceRegistry resources,
                              PledgeProperties props, Clock clock) {
        return new AdminActions(engine, decisionLog, resources, props, clock);
    }

    @Bean(initMethod = "start", destroyMethod = "close")
    OrphanScanner orphanScanner(TransactionEngine engine, ResourceRegistry resources, PledgeProperties props, Clock clock) {
        return new OrphanScanner(engine, resources, props, clock);
    }

    @Bean
    PublicUrl publicUrl(PledgeProperties props) {
        return new PublicUrl(props);
    }

    @Bean
    FilterRegistrationBean<LeaderRedirectFilter> leaderRedirectFilter(TransactionEngine engine, Leadership leadership,
                                                                      JsonMapper json) {
        FilterRegistrationBean<LeaderRedirectFilter> registration =
                new FilterRegistrationBean<>(new LeaderRedirectFilter(engine, leadership, json));
        registration.setOrder(0); // after Spring Security (-100): unauthenticated callers get 401, not a redirect
        return registration;
    }

    @Bean
    FilterRegistrationBean<RequestLimitFilter> requestLimitFilter(PledgeProperties props, JsonMapper json) {
        FilterRegistrationBean<RequestLimitFilter> registration =
                new FilterRegistrationBean<>(new RequestLimitFilter(props.security().maxRequestBytes(), json));
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
        return registration;
    }

    /** Tomcat's own refusals (bad percent-encoding, headers too large) answer problem+json too. */
    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> containerProblems() {
        return ContainerProblemValve.installer();
    }

    @Bean
    MeterBinder coordinatorMeters(TransactionEngine engine, DecisionLog decisionLog, OrphanScanner scanner,
                                  AdminActions admin, Clock clock) {
        return registry -> {
        engine.phaseTwo().onRetry(resource -> registry.counter("pledge.phase2.retries", "resource", resource).increment());
        io.micrometer.core.instrument.FunctionCounter.builder("pledge.recovery.orphan_rollbacks", scanner,
                OrphanScanner::orphanRollbacks).description("orphan branches rolled back under S5").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("pledge.heuristics.observed", engine.phaseTwo(),
                        p -> p.observedHeuristics())
                .description("branches that ended against the decision on their resource's or participant's word (S6)")
                .register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("pledge.admin.heuristic_actions", admin,
                AdminActions::heuristicActions).description("operators' heuristic actions started").register(registry);
        Gauge.builder("pledge.transactions.in_doubt.oldest_age_seconds", engine, e -> e.inDoubt().stream()
                        .filter(s -> s.decidedAt() != null).findFirst()
                        .map(s -> (double) java.time.Duration.between(s.decidedAt(), clock.instant()).toSeconds()).orElse(0.0))
                .description("age of the oldest decided transaction whose phase 2 is not finished").register(registry);
        Gauge.builder("pledge.transactions.undecided", engine, TransactionEngine::undecidedCount)
                .description("transactions begun and not yet decided").register(registry);
        Gauge.builder("pledge.transactions.in_doubt", engine, TransactionEngine::inDoubtCount)
                .description("decided transactions whose phase 2 is not finished").register(registry);
        Gauge.builder("pledge.log.records", decisionLog, l -> l.stats().records()).register(registry);
        Gauge.builder("pledge.log.forces", decisionLog, l -> l.stats().forces()).register(registry);
        Gauge.builder("pledge.log.batches", decisionLog, l -> l.stats().batches()).register(registry);
        };
    }
}
