package dev.pledge.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * How the crash campaign and the recovery benchmark start coordinator JVMs that they restart often: Spring
 * Boot's extracted layout plus a dynamic class-data-sharing archive, written by one training start, halves the
 * CPU a start-up costs (about 6 s down to 3 s on the shared 2-core machine, docs/reliability.md), as it would
 * for an operator who deploys the coordinator that way (docs/operations.md). The coordinator runs the same code
 * either way; when extracting or training fails the caller gets the repackaged jar as built, slower but
 * otherwise the same.
 *
 * @param note what was prepared, or why nothing was (for the caller to print once)
 */
public record CoordinatorLaunch(Path jar, List<String> jvmOptions, String note) {
    /**
     * The training coordinator's cluster id: its orphan scanner classifies every XID of the campaign's cluster as
     * FOREIGN and never touches it (it also runs before the first transaction).
     */
    private static final String TRAINING_CLUSTER = "cds-train";
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(120);

    public static CoordinatorLaunch plain(Path bootJar, String why) {
        return new CoordinatorLaunch(bootJar, List.of(), "repackaged jar (" + why + ")");
    }

    /**
     * Extracts {@code bootJar} into {@code dir} and trains the archive with one start-up of the coordinator on
     * {@code args} (e.g. the resources it will use, so their drivers' classes are archived too) that exits once its
     * context is refreshed.
     */
    public static CoordinatorLaunch prepare(Path bootJar, Path dir, List<String> args, String token)
            throws InterruptedException {
        long started = System.nanoTime();
        try {
            Files.createDirectories(dir);
            Path extracted = dir.resolve("extracted");
            Process extract = new ProcessBuilder(java(), "-Djarmode=tools", "-jar", bootJar.toString(), "extract",
                    "--force", "--destination", extracted.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("extract.out").toFile()).start();
            if (!extract.waitFor(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS) || extract.exitValue() != 0) {
                extract.destroyForcibly();
                return plain(bootJar, "extracting failed, see " + dir.resolve("extract.out"));
            }
            Path jar = extracted.resolve(bootJar.getFileName());
            Path archive = dir.resolve("coordinator.jsa");
            Files.deleteIfExists(archive);
            CoordinatorProcess training = CoordinatorProcess.start(jar,
                    List.of("-XX:ArchiveClassesAtExit=" + archive, "-Dspring.context.exit=onRefresh"),
                    dir.resolve("training"), CoordinatorProcess.freePort(), TRAINING_CLUSTER, token, args);
            OptionalInt exit = training.awaitExit(STEP_TIMEOUT);
            if (exit.isEmpty() || exit.getAsInt() != 0 || !Files.exists(archive)) {
                training.kill();
                return plain(bootJar, "training start " + (exit.isEmpty() ? "did not exit" : "exited with "
                        + exit.getAsInt()) + ", see " + training.outputFile());
            }
            return new CoordinatorLaunch(jar, List.of("-XX:SharedArchiveFile=" + archive), String.format(
                    Locale.ROOT, "extracted jar with class-data-sharing archive %s (prepared in %.1fs)",
                    archive, (System.nanoTime() - started) / 1e9));
        } catch (IOException e) {
            return plain(bootJar, "preparing failed: " + e);
        }
    }

    public CoordinatorProcess start(Path dataDir, int port, String clusterId, String token, List<String> args)
            throws IOException {
        return CoordinatorProcess.start(jar, jvmOptions, dataDir, port, clusterId, token, args);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
