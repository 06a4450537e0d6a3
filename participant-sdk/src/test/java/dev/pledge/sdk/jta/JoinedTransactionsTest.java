package dev.pledge.sdk.jta;

import dev.pledge.protocol.BeginResponse;
import dev.pledge.protocol.BranchRegistration;
import dev.pledge.protocol.BranchState;
import dev.pledge.protocol.ParticipantCalls.PhaseTwoResponse;
import dev.pledge.protocol.Vote;
import dev.pledge.sdk.DrivingCoordinator;
import dev.pledge.sdk.H2Databases;
import dev.pledge.sdk.Pledge;
import dev.pledge.sdk.jta.JoinedTransactions.JoinedRequest;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The receiving side of propagation without Spring: parked branches on a real H2 XA database whose pool has
 * one connection, the deadline timer, the bounds, and idempotent callbacks.
 */
class JoinedTransactionsTest {
    static final String DB = "joined";
    static final String CALLBACK = "http://127.0.0.1:9/pledge/participant";

    DrivingCoordinator coordinator;
    Pledge pledge;
    DataSource pool;
    JoinedTransactions joined;

    @BeforeAll
    static void database() throws Exception {
        H2Databases.create(DB);
    }

    @BeforeEach
    void start() throws Exception {
        coordinator = new DrivingCoordinator("t", Set.of("joined-db"));
        coordinator.abortAtDeadline(false); // the coordinator is "down" at the deadline: this service must act alone
        pledge = Pledge.builder().coordinatorUrl(coordinator.url()).token("t").instanceId("svc")
                .maxRetryTime(Duration.ofMillis(200)).build();
        pool = pledge.dataSource(new XaDataSourceConfig("joined-db", null, H2Databases.url(DB), "sa", "", 1,
                Duration.ofSeconds(1)));
        joined = joined(JoinedTransactions.Settings.defaults(() -> CALLBACK).withExpiryGrace(Duration.ZERO)
                .withPreparedHold(Duration.ofMillis(500)));
    }

    private JoinedTransactions joined(JoinedTransactions.Settings settings) {
        return new JoinedTransactions(pledge.transactionManager(), settings);
    }

    @AfterEach
    void stop() {
        joined.close();
        pledge.close();
        coordinator.close();
    }

    private BeginResponse begin(Duration timeout) {
        return pledge.client().begin(timeout, "test");
    }

    /** One request of the joined transaction: inserts a row through the pool, then ends. */
    private ParticipantException request(BeginResponse tx, String id) throws Exception {
        JoinedRequest request = joined.enter(tx.txid(), tx.deadline());
        Throwable failure = null;
        try (Connection c = pool.getConnection()) {
            H2Databases.insert(c, id);
        } catch (Exception | Error e) {
            failure = e;
            throw e;
        } finally {
            ParticipantException refused = request.exit(failure);
            if (failure == null && refused != null) {
                return refused;
            }
        }
        return null;
    }

    private void assertPoolFree() throws Exception {
        try (Connection c = pool.getConnection()) {
            assertThat(c.isValid(1)).isTrue();
        }
    }

    @Test
    void aParkedBranchIsRegisteredActiveWithTheCallbackAndKeepsItsConnectionOutOfThePool() throws Exception {
        BeginResponse tx = begin(Duration.ofSeconds(30));
        String id = UUID.randomUUID().toString();
        assertThat(request(tx, id)).isNull();

        List<BranchRegistration> registered = coordinator.registrations(tx.txid());
        assertThat(registered).singleElement().satisfies(b -> {
            assertThat(b.state()).isEqualTo(BranchState.ACTIVE);
            assertThat(b.callbackUrl()).isEqualTo(CALLBACK);
            assertThat(b.branchId()).matches("joined-db:svc:j[0-9a-z]+");
        });
        assertThat(joined.heldBranchCount()).isEqualTo(1);
        assertThatThrownBy(() -> pool.getConnection()).hasMessageContaining("timeout"); // the one connection is parked
        assertThat(H2Databases.exists(DB, id)).isFalse();

        String branchId = registered.get(0).branchId();
        assertThat(joined.prepare(tx.txid(), branchId).vote()).isEqualTo(Vote.COMMIT);
        assertThat(joined.prepare(tx.txid(), branchId).vote()).isEqualTo(Vote.COMMIT);
        assertThat(joined.commit(tx.txid(), branchId, false).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
        assertThat(joined.commit(tx.txid(), branchId, false).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
        assertThat(joined.rollback(tx.txid(), branchId).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
        assertThat(H2Databases.exists(DB, id)).isTrue();
        assertThat(joined.joinedCount()).isZero();
        assertPoolFree();
    }

    @Test
    void concurrentRequestsOfOneTransactionTakeTurnsOnTheSameBranch() throws Exception {
        BeginResponse tx = begin(Duration.ofSeconds(30));
        String first = UUID.randomUUID().toString();
        String second = UUID.randomUUID().toString();
        JoinedRequest holding = joined.enter(tx.txid(), tx.deadline());
        java.util.concurrent.CompletableFuture<ParticipantException> other;
        try (Connection c = pool.getConnection()) {
            H2Databases.insert(c, first);
            other = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return request(tx, second); // waits for the first request to end
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(300);
            assertThat(other).isNotDone();
        } finally {
            holding.exit(null);
        }
        assertThat(other.get(10, java.util.concurrent.TimeUnit.SECONDS)).isNull();

        assertThat(coordinator.registrations(tx.txid())).hasSize(1);
        String branchId = coordinator.registrations(tx.txid()).get(0).branchId();
        assertThat(joined.commit(tx.txid(), branchId, true).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
        assertThat(H2Databases.exists(DB, first)).isTrue();
        assertThat(H2Databases.exists(DB, second)).isTrue();
        assertPoolFree();
    }

    @Test
    void theDeadlineRollsBackAParkedBranchAndFreesItsConnectionWhenNoCoordinatorSaysSo() throws Exception {
        BeginResponse tx = begin(Duration.ofMillis(1500));
        String id = UUID.randomUUID().toString();
        assertThat(request(tx, id)).isNull();
        String branchId = coordinator.registrations(tx.txid()).get(0).branchId();
        assertThat(joined.joinedCount()).isEqualTo(1);

        await().atMost(Duration.ofSeconds(10)).until(() -> joined.joinedCount() == 0);
        assertPoolFree();
        assertThat(H2Databases.exists(DB, id)).isFalse();
        // Remembered: a late PREPARE votes ABORT, a late rollback is idempotent, no new request may join.
        assertThat(joined.prepare(tx.txid(), branchId).vote()).isEqualTo(Vote.ABORT);
        assertThat(joined.rollback(tx.txid(), branchId).outcome()).isEqualTo(PhaseTwoResponse.ROLLED_BACK);
        assertThatThrownBy(() -> joined.enter(tx.txid(), null))
                .isInstanceOfSatisfying(ParticipantException.class, e -> assertThat(e.status()).isEqualTo(409));
    }

    @Test
    void aPreparedBranchOutlivesTheDeadlineUntilItsPhaseTwoAndCommits() throws Exception {
        BeginResponse tx = begin(Duration.ofMillis(1500));
        String id = UUID.randomUUID().toString();
        JoinedTransactions holding = joined(JoinedTransactions.Settings.defaults(() -> CALLBACK)
                .withExpiryGrace(Duration.ZERO).withPreparedHold(Duration.ofMinutes(5)));
        try {
            JoinedRequest request = holding.enter(tx.txid(), tx.deadline());
            try (Connection c = pool.getConnection()) {
                H2Databases.insert(c, id);
            } finally {
                assertThat(request.exit(null)).isNull();
            }
            String branchId = coordinator.registrations(tx.txid()).get(0).branchId();
            assertThat(holding.prepare(tx.txid(), branchId).vote()).isEqualTo(Vote.COMMIT);

            Thread.sleep(2500); // past the deadline: a prepared branch may be committed, so it is not rolled back
            assertThat(holding.heldBranchCount()).isEqualTo(1);
            assertThat(H2Databases.preparedXids(DB)).hasSize(1);

            assertThat(holding.commit(tx.txid(), branchId, false).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
            assertThat(H2Databases.exists(DB, id)).isTrue();
            assertThat(holding.joinedCount()).isZero();
            assertPoolFree();
        } finally {
            holding.close();
        }
    }

    @Test
    void aSingleParkedBranchCommitsInOnePhaseAndNoRequestJoinsOnceCompletionStarted() throws Exception {
        BeginResponse tx = begin(Duration.ofSeconds(30));
        String id = UUID.randomUUID().toString();
        assertThat(request(tx, id)).isNull();
        String branchId = coordinator.registrations(tx.txid()).get(0).branchId();

        assertThatThrownBy(() -> joined.commit(tx.txid(), branchId, false))
                .isInstanceOfSatisfying(ParticipantException.class, e -> assertThat(e.status()).isEqualTo(409));
        assertThatThrownBy(() -> joined.enter(tx.txid(), tx.deadline()))
                .isInstanceOfSatisfying(ParticipantException.class, e -> assertThat(e.status()).isEqualTo(409));
        assertThat(joined.commit(tx.txid(), branchId, true).outcome()).isEqualTo(PhaseTwoResponse.COMMITTED);
        assertThat(H2Databases.exists(DB, id)).isTrue();
        assertPoolFree();
    }

    @Test
    void aRollbackOnlyRequestRollsBackHereAsksTheCoordinatorToAbortAndVotesAbort() throws Exception {
        BeginResponse tx = begin(Duration.ofSeconds(30));
        String id = UUID.randomUUID().toString();
        JoinedRequest request = joined.enter(tx.txid(), tx.deadline());
        try (Connection c = pool.getConnection()) {
            H2Databases.insert(c, id);
            pledge.transactionManager().setRollbackOnly();
        } finally {
            assertThat(request.exit(null)).isNull();
        }
        String branchId = coordinator.registrations(tx.txid()).get(0).branchId();

        assertThat(coordinator.requests()).contains("POST /api/v1/transactions/" + tx.txid() + "/rollback");
        assertThat(joined.joinedCount()).isZero();
        assertPoolFree();
        assertThat(joined.prepare(tx.txid(), branchId).vote()).isEqualTo(Vote.ABORT);
        assertThat(joined.commit(tx.txid(), branchId, true).outcome()).isEqualTo(PhaseTwoResponse.ROLLED_BACK);
        assertThat(H2Databases.exists(DB, id)).isFalse();
    }

    @Test
    void joinedTransactionsAreBoundedAndABranchNotHeldHereIsUnknown() throws Exception {
        JoinedTransactions one = joined(JoinedTransactions.Settings.defaults(() -> CALLBACK).withMaxJoined(1));
        try {
            BeginResponse first = begin(Duration.ofSeconds(30));
            BeginResponse second = begin(Duration.ofSeconds(30));
            JoinedRequest request = one.enter(first.txid(), first.deadline());
            try (Connection c = pool.getConnection()) {
                H2Databases.insert(c, UUID.randomUUID().toString());
            } finally {
                request.exit(null);
            }
            assertThatThrownBy(() -> one.enter(second.txid(), second.deadline()))
                    .isInstanceOfSatisfying(ParticipantException.class, e -> {
                        assertThat(e.status()).isEqualTo(503);
                        assertThat(e.retry()).isTrue();
                        assertThat(e.getMessage()).contains("pledge.participant.max-joined");
                    });
            assertThat(one.commit(second.txid(), "joined-db:svc:jzz", false).outcome())
                    .isEqualTo(PhaseTwoResponse.UNKNOWN_BRANCH);
            assertThat(one.rollback(second.txid(), "joined-db:svc:jzz").outcome())
                    .isEqualTo(PhaseTwoResponse.UNKNOWN_BRANCH);
            assertThat(one.prepare(second.txid(), "joined-db:svc:jzz").vote()).isEqualTo(Vote.ABORT);
        } finally {
            one.close(); // rolls back what it parked and frees the connection
        }
        assertPoolFree();
    }

    @Test
    void earlyPrepareRegistersPreparedAndARequestWithoutWorkLeavesNothingBehind() throws Exception {
        JoinedTransactions early = joined(JoinedTransactions.Settings.defaults(() -> CALLBACK)
                .withMode(JoinedTransactions.Mode.EARLY_PREPARE));
        try {
            BeginResponse tx = begin(Duration.ofSeconds(30));
            assertThat(early.enter(tx.txid(), tx.deadline()).exit(null)).isNull(); // touched no resource
            assertThat(early.joinedCount()).isZero();
            assertThat(coordinator.registrations(tx.txid())).isEmpty();

            String id = UUID.randomUUID().toString();
            JoinedRequest writing = early.enter(tx.txid(), tx.deadline());
            try (Connection c = pool.getConnection()) {
                H2Databases.insert(c, id);
            } finally {
                assertThat(writing.exit(null)).isNull();
            }
            BranchRegistration b = coordinator.registrations(tx.txid()).get(0);
            assertThat(b.state()).isEqualTo(BranchState.PREPARED);
            assertThat(b.callbackUrl()).isEqualTo(CALLBACK);
            assertThat(H2Databases.preparedXids(DB)).hasSize(1);
            assertThat(early.rollback(tx.txid(), b.branchId()).outcome()).isEqualTo(PhaseTwoResponse.ROLLED_BACK);
            assertThat(H2Databases.preparedXids(DB)).isEmpty();
            assertThat(H2Databases.exists(DB, id)).isFalse();
            assertPoolFree();
        } finally {
            early.close();
        }
    }
}
