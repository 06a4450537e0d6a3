package dev.pledge.chaos;

import dev.pledge.testkit.Directories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The crash campaign against a Raft group of three coordinators, opt-in ({@code -Dchaos.cluster.skip=false}; CI
 * time is tight and each coordinator round costs a start-up plus a leader election): a few rounds with a fixed
 * seed (override with {@code -Dchaos.cluster.rounds=}, {@code -Dchaos.cluster.seed=}), each SIGKILLing the leader,
 * a follower or the workload. Logs of failed rounds stay in {@code target/chaos-cluster-it/logs}.
 */
@EnabledIfSystemProperty(named = "chaos.cluster.skip", matches = "false")
class ChaosClusterIT {

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void noKillOfLeaderFollowerOrWorkloadBreaksAtomicityOrExactlyOnce() throws Exception {
        int rounds = Integer.getInteger("chaos.cluster.rounds", 6);
        long seed = Long.getLong("chaos.cluster.seed", 20261127L);
        Path workDir = Directories.fresh(Path.of("target", "chaos-cluster-it").toAbsolutePath());

        ChaosCampaign.Result result;
        ChaosCampaign.Settings settings = ChaosCampaign.Settings.defaults(rounds, seed, workDir).withCluster(3);
        try (ChaosCampaign campaign = new ChaosCampaign(settings)) {
            result = campaign.run();
        }

        assertThat(result.violations()).as("invariant violations (seed %d): see the ROUND lines above", seed).isZero();
        assertThat(result.errors()).as("rounds the driver could not complete (seed %d)", seed).isZero();
        assertThat(result.kills()).as("kills by kind").containsKey(ChaosCampaign.RANDOM_FOLLOWER);
    }
}
