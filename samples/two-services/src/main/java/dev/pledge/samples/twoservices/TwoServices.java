package dev.pledge.samples.twoservices;

import dev.pledge.samples.twoservices.orders.OrdersApplication;
import dev.pledge.samples.twoservices.payments.PaymentsApplication;

import java.util.Arrays;

/**
 * The jar's entry point: {@code java -jar pledge-sample-two-services.jar orders|payments [--property=value...]}
 * starts one of the two services (each is its own Spring Boot application with its own configuration file,
 * {@code orders.yml} or {@code payments.yml}).
 */
public final class TwoServices {
    private TwoServices() {
    }

    public static void main(String[] args) {
        String service = args.length == 0 ? "" : args[0];
        String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
        switch (service) {
            case "orders":
                OrdersApplication.builder().run(rest);
                break;
            case "payments":
                PaymentsApplication.builder().run(rest);
                break;
            default:
                System.err.println("usage: java -jar pledge-sample-two-services.jar orders|payments [--property=value ...]");
                System.exit(2);
        }
    }
}
