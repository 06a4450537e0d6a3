package dev.pledge.coordinator.api;

import dev.pledge.coordinator.config.PledgeProperties;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.ApplicationListener;

/** This node's base URL: {@code pledge.public-url}, else http://localhost:&lt;actual port&gt;. */
public final class PublicUrl implements ApplicationListener<WebServerInitializedEvent> {
    private final PledgeProperties props;
    private volatile int port;

    public PublicUrl(PledgeProperties props) {
        this.props = props;
    }

    @Override
    public void onApplicationEvent(WebServerInitializedEvent event) {
        port = event.getWebServer().getPort();
    }

    public String get() {
        if (props.publicUrl() != null && !props.publicUrl().isBlank()) {
            return props.publicUrl().replaceAll("/+$", "");
        }
        return "http://localhost:" + port;
    }
}
