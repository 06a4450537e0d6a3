package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.file.Path;

/** Started as a separate JVM by {@link FileDecisionLogTest}: tries to open the log in {@code args[0]}. */
public final class LockProbe {

    private LockProbe() {
    }

    public static void main(String[] args) {
        try (FileDecisionLog log = new FileDecisionLog(Path.of(args[0]))) {
            log.open();
            System.out.println("PROBE OPENED");
        } catch (IOException e) {
            System.out.println("PROBE REFUSED: " + e.getMessage());
            System.exit(3);
        }
    }
}
