package dev.pledge.coordinator;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class PledgeCoordinatorApplication {
    public static void main(String[] args) {
        SpringApplication.run(PledgeCoordinatorApplication.class, args);
    }
}
