package dev.pledge.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The coordinator jar running as a separate JVM, started exactly as API.md says scripts start it,
 * and killed for real (SIGKILL) by tests.
 */
public final class CoordinatorProcess implements AutoCloseable {
    private static final Pattern FAILPOINT = Pattern.compile("FAILPOINT (\\S+) REACHED pid=(\\d+)(?: txid=(\\S+))?");

    /** A failpoint line seen on the coordinator's stdout. */
    public record FailpointHit(String name, long pid, String txid) {
    }

    private final Process process;
    private final int port;
    private final CompletableFuture<FailpointHit> failpoint = new CompletableFuture<>();
    private final Path logFile;

    private CoordinatorProcess(Process process, int port, Path logFile) {
        this.process = process;
        this.port = port;
        this.logFile = logFile;
    }

    public static Path jar() {
        String jar = System.getProperty("pledge.coordinator.jar");
        if (jar == null || !Files.exists(Path.of(jar))) {
            throw new IllegalStateException("pledge.coordinator.jar=" + jar + " does not exist: run through"
                    + " 'mvn verify' (failsafe sets it after the jar is packaged)");
        }
        return Path.of(jar);
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static CoordinatorProcess start(Path dataDir, int port, String clusterId, String token, List<String> extraArgs)
            throws IOException {
        return start(jar(), List.of(), dataDir, port, clusterId, token, extraArgs);
    }

    /**
     * Like {@link #start(Path, int, String, String, List)}, from another jar of the same coordinator (e.g. Spring
     * Boot's extracted layout) with extra JVM options (e.g. a class-data-sharing archive).
     */
    public static CoordinatorProcess start(Path jar, List<String> jvmOptions, Path dataDir, int port, String clusterId,
                                           String token, List<String> extraArgs) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", jar.toString(),
                "--server.port=" + port, "--pledge.data-dir=" + dataDir, "--pledge.cluster-id=" + clusterId));
        cmd.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PLEDGE_BOOTSTRAP_TOKEN", token);
        Files.createDirectories(dataDir);
        Path logFile = dataDir.resolveSibling(dataDir.getFileName() + "-" + port + ".out");
        CoordinatorProcess cp = new CoordinatorProcess(pb.start(), port, logFile);
        Thread pump = new Thread(cp::pumpOutput, "coordinator-" + port + "-stdout");
        pump.setDaemon(true);
        pump.start();
        return cp;
    }

    private void pumpOutput() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                out.println(line);
                out.flush();
                Matcher m = FAILPOINT.matcher(line);
                if (m.find()) {
                    failpoint.complete(new FailpointHit(m.group(1), Long.parseLong(m.group(2)), m.group(3)));
                }
            }
        } catch (IOException e) {
            // the process died; its output ends here
        }
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    public Path outputFile() {
        return logFile;
    }

    /** Waits for readiness; fails with the process output if it dies or takes too long. */
    public CoordinatorProcess awaitReady(Duration timeout) throws Exception {
        ApiClient probe = new ApiClient(baseUrl(), null);
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (!process.isAlive()) {
                throw new IllegalStateException("coordinator exited with " + process.exitValue() + ":\n" + output());
            }
            try {
                if (probe.get("/actuator/health/readiness").status() == 200) {
                    return this;
                }
            } catch (RuntimeException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("coordinator not ready within " + timeout + ":\n" + output());
    }

    public FailpointHit awaitFailpoint(Duration timeout) throws Exception {
        return failpoint.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** SIGKILL: no shutdown hooks, no flushing, exactly like a machine losing the process. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the process to exit by itself; its exit code, or empty when it still runs after the timeout. */
    public OptionalInt awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)
                ? OptionalInt.of(process.exitValue()) : OptionalInt.empty();
    }

    /**
     * SIGSTOP: every thread of the JVM freezes at once (a long GC pause, a stalled VM, a laptop lid);
     * its sockets stay open, so peers see silence rather than a closed connection. Undo with {@link #resume()}.
     */
    public void pause() throws IOException, InterruptedException {
        signal("STOP");
        awaitAllThreadsStopped();
    }

    /**
     * {@code kill -STOP} returns once the signal is sent, but a thread running on another CPU goes on
     * until the kernel interrupts it, a few milliseconds on a loaded machine: a test that takes "now" as
     * the moment of the freeze would blame the process for work it did before it was stopped. This waits
     * until every thread of the process shows state T in {@code /proc} (Linux; elsewhere it returns at once).
     */
    private void awaitAllThreadsStopped() throws IOException, InterruptedException {
        Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
        if (!Files.isDirectory(tasks)) {
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!allStopped(tasks)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("kill -STOP " + process.pid() + ": not every thread stopped within 5 s");
            }
            Thread.sleep(1);
        }
    }

    private static boolean allStopped(Path tasks) throws IOException {
        try (Stream<Path> threads = Files.list(tasks)) {
            return threads.allMatch(task -> {
                try {
                    String stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
                    // "tid (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    return state == 'T' || state == 't';
                } catch (IOException | RuntimeException e) {
                    return true; // the thread ended meanwhile
                }
            });
        }
    }

    /** SIGCONT: a process frozen by {@link #pause()} runs on as if no time had passed, from its point of view. */
    public void resume() throws IOException, InterruptedException {
        signal("CONT");
    }

    private void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
                .redirectErrorStream(true).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed: "
                    + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    public String output() {
        try {
            return Files.exists(logFile) ? Files.readString(logFile) : "";
        } catch (IOException e) {
            return "(output unreadable: " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
