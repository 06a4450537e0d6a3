package dev.pledge.samples.queue;

import dev.pledge.samples.support.FailpointPools;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.annotation.Import;

/**
 * The queue consumer in its own JVM, on pools whose drivers stop at the sample failpoint
 * ({@code sample.after-decision}): the first message it processes stops after the coordinator answered
 * COMMITTED, with the receive and the insert prepared and neither committed, until the test SIGKILLs it.
 * Not a component (the sample's component scan must not find it).
 */
@Import(FailpointPools.class)
public class QueueCrashMain {

    public static void main(String[] args) {
        new SpringApplicationBuilder(QueueConsumerApplication.class, QueueCrashMain.class).run(args);
    }
}
