package dev.pledge.coordinator.log;

import java.io.IOException;

/** Lets tests outside this package make a real FileDecisionLog's disk fail (its fsync throws from now on). */
public final class LogFaults {
    private LogFaults() {
    }

    public static void failForces(DecisionLog log, String why) {
        ((FileDecisionLog) log).injectFault(FileDecisionLog.FaultPoint.FORCE, new IOException(why));
    }
}
