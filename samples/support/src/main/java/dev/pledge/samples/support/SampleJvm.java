package dev.pledge.samples.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sample application's main class running in a separate JVM on the test's own class path, so a test can
 * kill it for real (SIGKILL) at a {@link Failpoint}. Its output goes to a file; the failpoint line is read
 * from it as it arrives.
 */
public final class SampleJvm implements AutoCloseable {
    private static final Pattern FAILPOINT = Pattern.compile("FAILPOINT (\\S+) REACHED pid=(\\d+)(?: txid=(\\S+))?");

    /** A failpoint line seen on the sample's stdout. */
    public record FailpointHit(String name, long pid, String txid) {
    }

    private final Process process;
    private final Path logFile;
    private final CompletableFuture<FailpointHit> failpoint = new CompletableFuture<>();
    private Thread pump;

    private SampleJvm(Process process, Path logFile) {
        this.process = process;
        this.logFile = logFile;
    }

    /** Starts {@code mainClass} from the test's class path with {@code args}; output goes to {@code logFile}. */
    public static SampleJvm start(Class<?> mainClass, Path logFile, List<String> args) throws IOException {
        return launch(List.of("-cp", System.getProperty("java.class.path"), mainClass.getName()), logFile, args);
    }

    /** Starts an executable jar, as {@code java -jar}, with {@code args}; output goes to {@code logFile}. */
    public static SampleJvm startJar(Path jar, Path logFile, List<String> args) throws IOException {
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " does not exist: run through 'mvn verify' (the jar is packaged first)");
        }
        return launch(List.of("-jar", jar.toString()), logFile, args);
    }

    private static SampleJvm launch(List<String> what, Path logFile, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        cmd.addAll(what);
        cmd.addAll(args);
        Files.createDirectories(logFile.toAbsolutePath().getParent());
        SampleJvm jvm = new SampleJvm(new ProcessBuilder(cmd).redirectErrorStream(true).start(), logFile);
        jvm.pump = new Thread(jvm::pumpOutput, "sample-" + jvm.pid() + "-stdout");
        jvm.pump.setDaemon(true);
        jvm.pump.start();
        return jvm;
    }

    /** Waits for the JVM to exit by itself and returns its exit code; fails with its output if it takes too long. */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("the sample JVM did not exit within " + timeout + "; output:\n" + output());
        }
        pump.join(5_000); // the last lines
        return process.exitValue();
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
        failpoint.completeExceptionally(new IllegalStateException("the sample JVM exited before a failpoint"));
    }

    /** Waits for the failpoint line; fails with the JVM's output if it exits first or takes too long. */
    public FailpointHit awaitFailpoint(Duration timeout) throws Exception {
        try {
            return failpoint.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("no failpoint within " + timeout + " (" + e.getMessage() + "); output:\n"
                    + output(), e);
        }
    }

    /** SIGKILL: no shutdown hooks, no pool closing, no completion report. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the sample JVM " + process.pid() + " survived SIGKILL for 10 s");
        }
    }

    /** SIGTERM, as an operator stops a service: Spring shuts down in order (listeners finish their message). */
    public int stop(Duration timeout) throws InterruptedException {
        process.destroy();
        return awaitExit(timeout);
    }

    public long pid() {
        return process.pid();
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
