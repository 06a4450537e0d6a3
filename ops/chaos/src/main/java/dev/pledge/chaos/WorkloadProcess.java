package dev.pledge.chaos;

import dev.pledge.testkit.CoordinatorProcess.FailpointHit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@link Workload} as a separate JVM (small heap, C1 only, serial GC: several JVMs share two cores), with its
 * output appended to a file and watched for {@code WORKLOAD READY}, {@code FAILPOINT ... REACHED} and
 * {@code WORKLOAD STOPPED}. Killed for real ({@link #kill()}: SIGKILL) or stopped by a {@code stop} line.
 */
final class WorkloadProcess implements AutoCloseable {
    private static final Pattern FAILPOINT = Pattern.compile("FAILPOINT (\\S+) REACHED pid=(\\d+)(?: txid=(\\S+))?");

    private final Process process;
    private final Path logFile;
    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<FailpointHit> failpoint = new CompletableFuture<>();
    private final CompletableFuture<String> stopped = new CompletableFuture<>();

    private WorkloadProcess(Process process, Path logFile) {
        this.process = process;
        this.logFile = logFile;
    }

    /**
     * Starts the workload.
     *
     * @param failpoint null, or an SDK failpoint armed with PAUSE after {@code skip} hits
     */
    static WorkloadProcess start(String classpath, List<String> args, String failpoint, int skip, Path logFile)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.showDateTime=true"));
        if (failpoint != null) {
            cmd.add("-Dpledge.failpoint.name=" + failpoint);
            cmd.add("-Dpledge.failpoint.action=PAUSE");
            cmd.add("-Dpledge.failpoint.skip=" + skip);
        }
        cmd.add("-cp");
        cmd.add(classpath);
        cmd.add(Workload.class.getName());
        cmd.addAll(args);
        Files.createDirectories(logFile.getParent());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        WorkloadProcess w = new WorkloadProcess(p, logFile);
        Thread pump = new Thread(w::pump, "workload-" + p.pid() + "-stdout");
        pump.setDaemon(true);
        pump.start();
        return w;
    }

    private void pump() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
             PrintWriter out = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
                     StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
            out.println("---- workload pid=" + process.pid() + " ----");
            String line;
            while ((line = in.readLine()) != null) {
                out.println(line);
                out.flush();
                if (line.startsWith("WORKLOAD READY")) {
                    ready.complete(null);
                } else if (line.startsWith("WORKLOAD STOPPED")) {
                    stopped.complete(line);
                } else {
                    Matcher m = FAILPOINT.matcher(line);
                    if (m.find()) {
                        failpoint.complete(new FailpointHit(m.group(1), Long.parseLong(m.group(2)), m.group(3)));
                    }
                }
            }
        } catch (IOException e) {
            // the process died; its output ends here
        } finally {
            IllegalStateException gone = new IllegalStateException("workload pid " + process.pid() + " exited");
            ready.completeExceptionally(gone);
            failpoint.completeExceptionally(gone);
            stopped.completeExceptionally(gone);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    void awaitReady(Duration timeout) throws Exception {
        try {
            ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("workload pid " + pid() + " not ready within " + timeout + "; see " + logFile);
        }
    }

    /** The first failpoint line, or empty when none appeared within the timeout (or the process died). */
    FailpointHit awaitFailpoint(Duration timeout) throws InterruptedException {
        try {
            return failpoint.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return null;
        }
    }

    /** Asks the workload to finish its transactions and exit; SIGKILL after {@code timeout}. Returns its last line. */
    String stop(Duration timeout) throws InterruptedException {
        try {
            OutputStream in = process.getOutputStream();
            in.write("stop\n".getBytes(StandardCharsets.US_ASCII));
            in.flush();
            in.close();
        } catch (IOException e) {
            // already gone
        }
        try {
            String line = stopped.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            process.waitFor(5, TimeUnit.SECONDS);
            return line;
        } catch (java.util.concurrent.ExecutionException e) {
            return "(exited without an orderly stop)";
        } catch (TimeoutException e) {
            kill();
            return "(killed: no orderly stop within " + timeout + ")";
        }
    }

    /** Sends SIGKILL without waiting for the process to go. */
    void signalKill() {
        process.destroyForcibly();
    }

    /** SIGKILL: no shutdown hooks, no flushing. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
