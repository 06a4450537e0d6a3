package dev.pledge.samples.twoservices.payments;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * The payments service: reserves and confirms payments against customers' wallets in its own PostgreSQL
 * database ({@code pledge.datasources.payments}). It begins no transaction of its own: a call that carries
 * {@code Pledge-Txid} (orders sends it) joins the caller's global transaction, its work stays in one parked
 * branch across calls, and the coordinator prepares and commits it through this service's participant
 * callbacks. Configuration: {@code payments.yml}.
 */
@SpringBootApplication
@EnableConfigurationProperties(PaymentsProperties.class)
public class PaymentsApplication {

    /** The application with its own configuration file, {@code payments.yml}. */
    public static SpringApplicationBuilder builder() {
        return new SpringApplicationBuilder(PaymentsApplication.class).properties("spring.config.name=payments");
    }

    public static void main(String[] args) {
        builder().run(args);
    }
}
