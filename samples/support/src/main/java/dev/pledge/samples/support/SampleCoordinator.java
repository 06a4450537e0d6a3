package dev.pledge.samples.support;

import dev.pledge.testkit.ApiClient;
import dev.pledge.testkit.CoordinatorProcess;
import dev.pledge.testkit.FreePort;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The real coordinator jar as the samples' tests start it (API.md, "Starting a coordinator"): its own JVM,
 * {@code PLEDGE_BOOTSTRAP_TOKEN}, one {@code --pledge.resources.<name>.*} group per resource the sample
 * uses (so it can finish their branches by XA bridging), and a 2 s completion grace (default 5 s): short,
 * so a test does not wait long for the coordinator to take over from a killed sample, yet long enough for
 * the test to look at the prepared branches before the coordinator finishes them.
 */
public final class SampleCoordinator {
    public static final String TOKEN = "samples-bootstrap-token";
    public static final String CLUSTER_ID = "samples";

    private final List<String> args = new ArrayList<>(List.of("--pledge.participant.completion-grace=2s"));

    public static SampleCoordinator configure() {
        return new SampleCoordinator();
    }

    /** A resource the coordinator can reach: type postgresql | h2 | activemq. */
    public SampleCoordinator resource(String name, String type, String url, String user) {
        String p = "--pledge.resources." + name;
        args.add(p + ".type=" + type);
        args.add(p + ".url=" + url);
        if (user != null) {
            args.add(p + ".user=" + user);
        }
        return this;
    }

    public SampleCoordinator arg(String arg) {
        args.add(arg);
        return this;
    }

    /** Starts it on a free port with its decision log under {@code dataDir} and waits until it is ready. */
    public CoordinatorProcess start(Path dataDir) throws Exception {
        CoordinatorProcess p = CoordinatorProcess.start(dataDir, FreePort.find(), CLUSTER_ID, TOKEN, args);
        try {
            return p.awaitReady(Duration.ofSeconds(120));
        } catch (Exception | Error e) {
            p.close();
            throw e;
        }
    }

    /** A client of its REST API with the bootstrap token. */
    public static ApiClient api(CoordinatorProcess coordinator) {
        return new ApiClient(coordinator.baseUrl(), TOKEN);
    }
}
