package dev.pledge.coordinator;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;

import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class PledgeCoordinatorApplication {
    /** The JDK's system property for the size of the common {@link ForkJoinPool}, read when the pool is created. */
    static final String COMMON_POOL_PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

    public static void main(String[] args) {
        sizeCommonPool(Runtime.getRuntime().availableProcessors());
        SpringApplication.run(PledgeCoordinatorApplication.class, args);
        if (!(new CompletableFuture<Void>().defaultExecutor() instanceof ForkJoinPool)) {
            LoggerFactory.getLogger(PledgeCoordinatorApplication.class).warn("CompletableFuture starts a new thread"
                    + " for every async action in this JVM (common pool parallelism {}), so every participant call"
                    + " starts a thread; start the coordinator with -D{}=2", ForkJoinPool.getCommonPoolParallelism(),
                    COMMON_POOL_PARALLELISM);
        }
    }

    /**
     * With two CPUs or fewer the JDK sizes the common pool to one thread, and {@link CompletableFuture} then runs
     * every async action that names no executor on a new thread of its own. The JDK's HttpClient hands each answer
     * of {@code sendAsync} to that default executor, so every participant call (prepare, commit, rollback) started
     * and ended a thread: 19,700 of them in the 11 s of a 10,000-transaction recovery. Two threads at least, unless
     * the operator set the property; must run before anything uses the pool or {@code CompletableFuture}.
     */
    static void sizeCommonPool(int cpus) {
        if (cpus <= 2 && System.getProperty(COMMON_POOL_PARALLELISM) == null) {
            System.setProperty(COMMON_POOL_PARALLELISM, "2");
        }
    }
}
