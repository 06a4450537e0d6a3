package dev.pledge.xa;

/**
 * How to reach one resource manager: a name that participants and the coordinator share, a type
 * ({@code postgresql}, {@code h2} or {@code activemq}, see {@link XaResourceAdapters#TYPES}) and its
 * connection settings. {@code user} and {@code password} may be null (e.g. an unsecured broker).
 */
public record ResourceConfig(String name, String type, String url, String user, String password) {

    public ResourceConfig {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("resource name is missing (type " + type + ", url " + url + ")");
        }
        if (type == null || type.isBlank()) {
            throw new IllegalArgumentException("resource '" + name + "': type is missing; allowed types are "
                    + XaResourceAdapters.TYPES);
        }
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("resource '" + name + "': url is missing");
        }
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "ResourceConfig[name=" + name + ", type=" + type + ", url=" + url + ", user=" + user
                + ", password=" + (password == null ? "null" : "****") + "]";
    }
}
