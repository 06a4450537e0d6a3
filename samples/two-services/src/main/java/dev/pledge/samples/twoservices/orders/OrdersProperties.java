package dev.pledge.samples.twoservices.orders;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * @param paymentsUrl base URL of the payments service
 * @param initSchema  create the table when missing
 */
@ConfigurationProperties(prefix = "orders")
public record OrdersProperties(@DefaultValue("http://localhost:8082") String paymentsUrl,
                               @DefaultValue("true") boolean initSchema) {
}
