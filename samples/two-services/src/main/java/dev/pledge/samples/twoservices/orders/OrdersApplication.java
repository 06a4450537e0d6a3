package dev.pledge.samples.twoservices.orders;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * The orders service: {@code POST /orders} stores an order in its own PostgreSQL database
 * ({@code pledge.datasources.orders}) and pays for it by calling the payments service twice, all in one
 * {@code @Transactional} method: one global Pledge transaction. Configuration: {@code orders.yml}.
 */
@SpringBootApplication
@EnableConfigurationProperties(OrdersProperties.class)
public class OrdersApplication {

    /** The application with its own configuration file, {@code orders.yml}. */
    public static SpringApplicationBuilder builder() {
        return new SpringApplicationBuilder(OrdersApplication.class).properties("spring.config.name=orders");
    }

    public static void main(String[] args) {
        builder().run(args);
    }
}
