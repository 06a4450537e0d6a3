package dev.pledge.coordinator.api;

import dev.pledge.coordinator.config.PledgeProperties;
import dev.pledge.coordinator.txn.TransactionEngine;
import dev.pledge.protocol.ClusterView;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /api/v1/cluster}: this node's role, the leader, the epoch (= Raft term) and the log indexes. */
@RestController
public class ClusterController {
    private final TransactionEngine engine;
    private final PledgeProperties props;
    private final Leadership leadership;

    public ClusterController(TransactionEngine engine, PledgeProperties props, Leadership leadership) {
        this.engine = engine;
        this.props = props;
        this.leadership = leadership;
    }

    @GetMapping(path = "/api/v1/cluster", produces = MediaType.APPLICATION_JSON_VALUE)
    public ClusterView cluster() {
        long epoch = leadership.replicated() ? leadership.term() : engine.epoch();
        return new ClusterView(props.clusterId(), props.nodeId(), leadership.role(),
                leadership.leaderApiUrl().orElse(null), epoch, leadership.peers(), leadership.commitIndex(),
                leadership.appliedIndex());
    }
}
