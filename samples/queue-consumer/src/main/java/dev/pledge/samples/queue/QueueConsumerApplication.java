package dev.pledge.samples.queue;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * Consumes {@code inbox.queue} until stopped; {@code --inbox.send-on-start=N} first puts N demo messages on
 * the queue.
 * <pre>
 * java -jar pledge-sample-queue-consumer.jar --pledge.coordinator.url=http://localhost:8080 \
 *      --pledge.coordinator.token=... --inbox.send-on-start=10
 * </pre>
 */
@SpringBootApplication
public class QueueConsumerApplication {

    public static void main(String[] args) {
        SpringApplication.run(QueueConsumerApplication.class, args);
    }
}
