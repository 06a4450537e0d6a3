package dev.pledge.samples.queue;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.jms.core.JmsTemplate;
import org.springframework.stereotype.Component;

/** Puts {@code inbox.send-on-start} demo messages on the queue at start-up, so the sample has work to show. */
@Component
public class DemoProducer implements ApplicationRunner {
    private final JmsTemplate jms;
    private final String queue;
    private final int count;

    public DemoProducer(JmsTemplate jms, @Value("${inbox.queue}") String queue,
                        @Value("${inbox.send-on-start:0}") int count) {
        this.jms = jms;
        this.queue = queue;
        this.count = count;
    }

    @Override
    public void run(ApplicationArguments args) {
        for (int i = 1; i <= count; i++) {
            jms.convertAndSend(queue, "demo message " + i);
        }
    }
}
