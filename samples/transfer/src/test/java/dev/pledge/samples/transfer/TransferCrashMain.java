package dev.pledge.samples.transfer;

import dev.pledge.samples.support.FailpointPools;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

import java.util.UUID;

/**
 * The transfer sample in its own JVM, on pools whose drivers stop at the sample failpoint
 * ({@code sample.after-decision}): it makes one transfer ({@code --crash.transfer-id}, 100 from account 1
 * of bank A to account 2 of bank B) and stops after the coordinator answered COMMITTED, before committing
 * either branch, until the test SIGKILLs it. Not a component (the sample's component scan must not find it).
 */
@Import(FailpointPools.class)
public class TransferCrashMain {

    public static void main(String[] args) {
        ConfigurableApplicationContext app = new SpringApplicationBuilder(TransferApplication.class,
                TransferCrashMain.class).run(args);
        UUID transferId = UUID.fromString(app.getEnvironment().getRequiredProperty("crash.transfer-id"));
        app.getBean(TransferService.class).transfer(transferId, 1, 2, 100);
        System.out.println("the transfer committed without reaching the failpoint");
        System.exit(3);
    }
}
