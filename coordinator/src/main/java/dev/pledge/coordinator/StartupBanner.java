package dev.pledge.coordinator;

import dev.pledge.coordinator.api.PublicUrl;
import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.security.TokenStore;
import dev.pledge.coordinator.txn.TransactionEngine;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/** Prints where the API is and, on a first start without PLEDGE_BOOTSTRAP_TOKEN, the generated token (once). */
@Component
class StartupBanner {
    private final PublicUrl url;
    private final PledgeProperties props;
    private final TokenStore tokens;
    private final TransactionEngine engine;

    StartupBanner(PublicUrl url, PledgeProperties props, TokenStore tokens, TransactionEngine engine) {
        this.url = url;
        this.props = props;
        this.tokens = tokens;
        this.engine = engine;
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        StringBuilder b = new StringBuilder()
                .append("\n  Pledge coordinator ready\n")
                .append("  API:      ").append(url.get()).append("/api/v1\n")
                .append("  cluster:  ").append(props.clusterId()).append(props.cluster().raft()
                        ? " (raft member " + props.nodeId() + "; the leader's term is the epoch)"
                        : " (single node, epoch " + engine.epoch() + ")").append('\n')
                .append("  data dir: ").append(props.dataDir().toAbsolutePath().normalize()).append('\n');
        tokens.generatedToken().ifPresentOrElse(
                t -> b.append("  token:    ").append(t)
                        .append("\n            (generated now and shown only once; only its hash is stored. Use it as\n")
                        .append("             'Authorization: Bearer <token>', or set PLEDGE_BOOTSTRAP_TOKEN instead.)\n"),
                () -> b.append("  token:    PLEDGE_BOOTSTRAP_TOKEN or the token printed at first start\n"));
        System.out.println(b);
    }
}
