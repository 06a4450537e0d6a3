package dev.pledge.samples.twoservices.payments;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

import java.util.Map;

/**
 * @param initSchema create the tables when missing
 * @param wallets    wallets opened at start-up when missing: customer -> balance in cents
 */
@ConfigurationProperties(prefix = "payments")
public record PaymentsProperties(@DefaultValue("true") boolean initSchema, Map<String, Long> wallets) {
    public PaymentsProperties {
        wallets = wallets == null ? Map.of() : Map.copyOf(wallets);
    }
}
