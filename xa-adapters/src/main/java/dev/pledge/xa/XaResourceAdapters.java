package dev.pledge.xa;

import java.util.List;

/** Creates the adapter for a configured resource. */
public final class XaResourceAdapters {

    /** The resource types Pledge can bridge. */
    public static final List<String> TYPES = List.of("postgresql", "h2", "activemq");

    private XaResourceAdapters() {
    }

    /**
     * The adapter for {@code config.type()}.
     *
     * @throws IllegalArgumentException for an unknown type or a url the type's driver refuses
     * @throws IllegalStateException    when the type's driver is not on the classpath
     */
    public static XaResourceAdapter create(ResourceConfig config) {
        String type = config.type();
        try {
            switch (type) {
                case "postgresql":
                    return new PostgresXaAdapter(config);
                case "h2":
                    return new H2XaAdapter(config);
                case "activemq":
                    return new ActiveMqXaAdapter(config);
                default:
                    throw new IllegalArgumentException("resource '" + config.name() + "': unknown type '" + type
                            + "'; allowed types are " + TYPES);
            }
        } catch (NoClassDefFoundError e) {
            throw new IllegalStateException("resource '" + config.name() + "' of type " + type
                    + " needs its driver on the classpath (" + driverArtifact(type) + "): " + e.getMessage(), e);
        }
    }

    private static String driverArtifact(String type) {
        switch (type) {
            case "postgresql":
                return "org.postgresql:postgresql";
            case "h2":
                return "com.h2database:h2";
            default:
                return "org.apache.activemq:activemq-client";
        }
    }
}
