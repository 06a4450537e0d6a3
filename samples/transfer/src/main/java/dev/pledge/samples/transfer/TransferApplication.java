package dev.pledge.samples.transfer;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * A batch job: creates the two banks' tables if missing, runs {@code transfer.load.*} transfers, prints the
 * throughput and whether money was conserved, and exits (non-zero if an invariant broke).
 * <pre>
 * java -jar pledge-sample-transfer.jar --pledge.coordinator.url=http://localhost:8080 --pledge.coordinator.token=...
 * java -jar pledge-sample-transfer.jar --spring.profiles.active=atomikos
 * </pre>
 */
@SpringBootApplication
@EnableConfigurationProperties(TransferProperties.class)
public class TransferApplication {

    public static void main(String[] args) {
        System.exit(SpringApplication.exit(SpringApplication.run(TransferApplication.class, args)));
    }
}
