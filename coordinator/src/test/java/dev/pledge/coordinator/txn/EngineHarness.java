package dev.pledge.coordinator.txn;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.log.DecisionLog;
import dev.pledge.coordinator.participant.HttpParticipantGateway;
import tools.jackson.databind.json.JsonMapper;

import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * A started engine on a real decision log with real HTTP calls to participants, and everything it
 * runs on; closing it stops the threads and the log, as a process exit would (the log stays on disk).
 */
final class EngineHarness implements AutoCloseable {
    private final TransactionEngine engine;
    private final ScheduledThreadPoolExecutor scheduler;
    private final ExecutorService io;
    private final DecisionLog log;

    private EngineHarness(TransactionEngine engine, ScheduledThreadPoolExecutor scheduler, ExecutorService io,
                          DecisionLog log) {
        this.engine = engine;
        this.scheduler = scheduler;
        this.io = io;
        this.log = log;
    }

    /** Opens {@code log} (replaying it), forces a new epoch and resumes phase 2, like a coordinator start. */
    static EngineHarness start(PledgeProperties props, DecisionLog log) throws Exception {
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(2);
        ExecutorService io = Executors.newFixedThreadPool(4);
        HttpParticipantGateway gateway = new HttpParticipantGateway(JsonMapper.builder().build(), null, "node-1",
                Duration.ofSeconds(1), Duration.ofSeconds(2), io);
        TransactionEngine engine = new TransactionEngine(props, log, gateway, XaBridge.NONE, Set.of(),
                Clock.systemUTC(), scheduler);
        EngineHarness harness = new EngineHarness(engine, scheduler, io, log);
        try {
            engine.start();
        } catch (Exception e) {
            harness.close();
            throw e;
        }
        return harness;
    }

    TransactionEngine engine() {
        return engine;
    }

    DecisionLog log() {
        return log;
    }

    @Override
    public void close() throws Exception {
        scheduler.shutdownNow();
        io.shutdownNow();
        log.close();
    }
}
