package dev.pledge.coordinator.api;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.protocol.ClusterView;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;

/** {@code GET /api/v1/cluster}. A single node is its own leader, with role SINGLE. */
@RestController
public class ClusterController {
    private final TransactionEngine engine;
    private final PledgeProperties props;
    private final PublicUrl publicUrl;

    public ClusterController(TransactionEngine engine, PledgeProperties props, PublicUrl publicUrl) {
        this.engine = engine;
        this.props = props;
        this.publicUrl = publicUrl;
    }

    @GetMapping(path = "/api/v1/cluster", produces = MediaType.APPLICATION_JSON_VALUE)
    public ClusterView cluster() {
        return new ClusterView(props.clusterId(), props.nodeId(), "SINGLE", publicUrl.get(), engine.epoch(),
                List.of(), null, null);
    }
}
