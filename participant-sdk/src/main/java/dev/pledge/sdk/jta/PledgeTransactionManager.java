package dev.pledge.sdk.jta;

import dev.pledge.protocol.BeginResponse;
import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.sdk.client.PledgeException;
import dev.pledge.xa.XidCodec;
import jakarta.transaction.HeuristicMixedException;
import jakarta.transaction.HeuristicRollbackException;
import jakarta.transaction.InvalidTransactionException;
import jakarta.transaction.NotSupportedException;
import jakarta.transaction.RollbackException;
import jakarta.transaction.Status;
import jakarta.transaction.SystemException;
import jakarta.transaction.Transaction;
import jakarta.transaction.TransactionManager;
import jakarta.transaction.UserTransaction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Pledge's JTA {@link TransactionManager}, also the {@link UserTransaction}: transactions are bound
 * to threads, their txids come from the coordinator ({@code begin}), and their commit asks the
 * coordinator for the decision (see {@link PledgeTransaction}). The process keeps no transaction log
 * (S7): what it prepared, the coordinator can finish.
 *
 * <p>One instance per application; thread-safe. {@link #close()} flushes pending completion reports.
 */
public final class PledgeTransactionManager implements TransactionManager, UserTransaction, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PledgeTransactionManager.class);

    /** What to do at start-up when a resource is not registered at the coordinator. */
    public enum ResourceCheck {
        /** Refuse to start (the default): a branch prepared there could not be finished after a crash. */
        FAIL,
        /** Log a loud warning and go on. */
        WARN,
        /** Do not check. */
        OFF
    }

    /**
     * @param instanceId     this process in branch ids ({@code <resource>:<instanceId>:<n>}): unique among the
     *                       processes that may work in one transaction; 1-24 of [A-Za-z0-9._-]
     * @param defaultTimeout transaction timeout when {@link #setTransactionTimeout} was not called
     * @param outcomeWait    how long a commit keeps asking for a decision it could not learn (S8) before it
     *                       leaves the prepared branches to the coordinator and throws
     * @param maxBranches    branches one transaction may enlist here
     */
    public record Settings(String instanceId, Duration defaultTimeout, Duration outcomeWait, int maxBranches) {
        public static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9._-]{1,24}");
        public static final int MAX_BRANCHES_LIMIT = 512;

        public Settings {
            if (instanceId == null || instanceId.isBlank()) {
                instanceId = generatedInstanceId();
            }
            if (!INSTANCE_ID.matcher(instanceId).matches()) {
                throw new IllegalArgumentException("pledge.participant.instance-id='" + instanceId + "' is invalid: use 1-24"
                        + " characters of [A-Za-z0-9._-], unique among the processes of one transaction");
            }
            if (defaultTimeout == null || defaultTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("pledge.participant.default-timeout=" + defaultTimeout
                        + " is invalid: use at least 1s");
            }
            if (outcomeWait == null || outcomeWait.isNegative()) {
                throw new IllegalArgumentException("pledge.participant.outcome-wait=" + outcomeWait
                        + " is invalid: use 0 or more");
            }
            if (maxBranches < 1 || maxBranches > MAX_BRANCHES_LIMIT) {
                throw new IllegalArgumentException("pledge.participant.max-branches=" + maxBranches
                        + " is out of range: use 1.." + MAX_BRANCHES_LIMIT);
            }
        }

        /** Production defaults: a generated instance id, 30 s timeout, 60 s outcome wait, 64 branches. */
        public static Settings defaults() {
            return new Settings(null, Duration.ofSeconds(30), Duration.ofSeconds(60), 64);
        }

        public Settings withInstanceId(String id) {
            return new Settings(id, defaultTimeout, outcomeWait, maxBranches);
        }

        public Settings withDefaultTimeout(Duration d) {
            return new Settings(instanceId, d, outcomeWait, maxBranches);
        }

        public Settings withOutcomeWait(Duration d) {
            return new Settings(instanceId, defaultTimeout, d, maxBranches);
        }

        public Settings withMaxBranches(int n) {
            return new Settings(instanceId, defaultTimeout, outcomeWait, n);
        }

        /** Host name (from {@code HOSTNAME}, up to 15 characters) plus 6 random characters. */
        static String generatedInstanceId() {
            String host = System.getenv("HOSTNAME");
            host = host == null ? "" : host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]", "");
            if (host.length() > 15) {
                host = host.substring(0, 15);
            }
            String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
            SecureRandom random = new SecureRandom();
            StringBuilder id = new StringBuilder(host.isEmpty() ? "p" : host).append('-');
            for (int i = 0; i < 6; i++) {
                id.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            return id.toString();
        }
    }

    private final CoordinatorClient client;
    private final Settings settings;
    private final CoordinatorNotifier notifier;
    private final PledgeTransactionSynchronizationRegistry registry;
    private final ThreadLocal<PledgeTransaction> current = new ThreadLocal<>();
    private final ThreadLocal<Duration> threadTimeout = new ThreadLocal<>();
    private final Set<String> resourceNames = ConcurrentHashMap.newKeySet();

    public PledgeTransactionManager(CoordinatorClient client, Settings settings) {
        this.client = client;
        this.settings = settings;
        this.notifier = new CoordinatorNotifier(client);
        this.registry = new PledgeTransactionSynchronizationRegistry(this);
        log.info("Pledge transaction manager: instance {}, coordinator {}", settings.instanceId(), client.nodes());
    }

    public CoordinatorClient client() {
        return client;
    }

    public Settings settings() {
        return settings;
    }

    CoordinatorNotifier notifier() {
        return notifier;
    }

    /** The {@code TransactionSynchronizationRegistry} of this manager's transactions. */
    public PledgeTransactionSynchronizationRegistry synchronizationRegistry() {
        return registry;
    }

    // ------------------------------------------------------------------ UserTransaction / TransactionManager

    @Override
    public void begin() throws NotSupportedException, SystemException {
        begin(null);
    }

    /** {@link #begin()} with a label the coordinator shows in its console and history. */
    public void begin(String label) throws NotSupportedException, SystemException {
        PledgeTransaction existing = current.get();
        if (existing != null) {
            throw new NotSupportedException("thread " + Thread.currentThread().getName() + " is already in transaction "
                    + existing.txid() + ": nested transactions are not supported (suspend it first)");
        }
        Duration timeout = threadTimeout.get() != null ? threadTimeout.get() : settings.defaultTimeout();
        BeginResponse response;
        try {
            response = client.begin(timeout, label);
        } catch (PledgeException e) {
            SystemException s = new SystemException("could not begin a transaction: " + e.getMessage());
            s.initCause(e);
            throw s;
        }
        if (response == null || !XidCodec.isValidTxid(response.txid())) {
            throw new SystemException("the coordinator " + client.currentNode() + " answered begin with an invalid txid '"
                    + (response == null ? null : response.txid()) + "'");
        }
        current.set(new PledgeTransaction(this, response.txid(),
                response.deadline() != null ? response.deadline() : Instant.now().plus(timeout), timeout));
    }

    @Override
    public void commit() throws RollbackException, HeuristicMixedException, HeuristicRollbackException,
            SecurityException, IllegalStateException, SystemException {
        requireCurrent("commit").commit();
    }

    @Override
    public void rollback() throws IllegalStateException, SecurityException, SystemException {
        requireCurrent("roll back").rollback();
    }

    @Override
    public void setRollbackOnly() throws IllegalStateException {
        requireCurrent("mark rollback-only").setRollbackOnly();
    }

    @Override
    public int getStatus() {
        PledgeTransaction tx = current.get();
        return tx == null ? Status.STATUS_NO_TRANSACTION : tx.getStatus();
    }

    @Override
    public PledgeTransaction getTransaction() {
        return current.get();
    }

    /** Seconds for transactions this thread begins from now on; 0 restores the default. */
    @Override
    public void setTransactionTimeout(int seconds) throws SystemException {
        if (seconds < 0) {
            throw new SystemException("transaction timeout " + seconds + " is negative: use 0 (default) or more");
        }
        if (seconds == 0) {
            threadTimeout.remove();
        } else {
            threadTimeout.set(Duration.ofSeconds(seconds));
        }
    }

    /** Detaches the thread's transaction (its branches stay as they are; PostgreSQL has no XA suspend). */
    @Override
    public Transaction suspend() {
        PledgeTransaction tx = current.get();
        current.remove();
        return tx;
    }

    @Override
    public void resume(Transaction tx) throws InvalidTransactionException, IllegalStateException {
        if (tx == null) {
            return;
        }
        if (!(tx instanceof PledgeTransaction) || ((PledgeTransaction) tx).manager() != this) {
            throw new InvalidTransactionException("cannot resume " + tx + ": not a transaction of this Pledge transaction manager");
        }
        PledgeTransaction existing = current.get();
        if (existing != null) {
            throw new IllegalStateException("thread " + Thread.currentThread().getName() + " is already in transaction "
                    + existing.txid() + "; suspend it before resuming " + ((PledgeTransaction) tx).txid());
        }
        int status = ((PledgeTransaction) tx).getStatus();
        if (status != Status.STATUS_ACTIVE && status != Status.STATUS_MARKED_ROLLBACK) {
            throw new InvalidTransactionException("cannot resume transaction " + ((PledgeTransaction) tx).txid() + ": it is "
                    + PledgeTransaction.statusName(status));
        }
        current.set((PledgeTransaction) tx);
    }

    private PledgeTransaction requireCurrent(String what) {
        PledgeTransaction tx = current.get();
        if (tx == null) {
            throw new IllegalStateException("cannot " + what + ": no transaction is associated with thread "
                    + Thread.currentThread().getName());
        }
        return tx;
    }

    /** Called by a transaction when it completed: it is no longer this thread's transaction. */
    void disassociate(PledgeTransaction tx) {
        if (current.get() == tx) {
            current.remove();
        }
    }

    // ------------------------------------------------------------------ resources

    /** Records a resource name this process enlists under, for {@link #checkResources}. The SDK's pools call it. */
    public void registerResourceName(String resourceName) {
        resourceNames.add(NamedXAResource.requireValidName(resourceName));
    }

    public Set<String> resourceNames() {
        return Collections.unmodifiableSet(new TreeSet<>(resourceNames));
    }

    /**
     * Checks that the coordinator can reach every registered resource ({@code GET /api/v1/resources}):
     * a branch prepared on a resource it cannot reach could not be finished after a crash. A coordinator
     * that does not list resources, or cannot be reached now, only gets a warning.
     *
     * @throws IllegalStateException in {@link ResourceCheck#FAIL} mode when a resource is unknown there
     */
    public void checkResources(ResourceCheck mode) {
        Set<String> names = resourceNames();
        if (mode == ResourceCheck.OFF || names.isEmpty()) {
            return;
        }
        Optional<Set<String>> known;
        try {
            known = client.resources();
        } catch (PledgeException e) {
            log.warn("Could not check resources {} against the coordinator ({}); going on unchecked", names, e.getMessage());
            return;
        }
        if (known.isEmpty()) {
            log.warn("The coordinator at {} does not list its resources (no GET /api/v1/resources); resources {} are"
                    + " unchecked: make sure it can reach each of them (pledge.resources.<name>.* there)",
                    client.currentNode(), names);
            return;
        }
        Set<String> missing = new TreeSet<>(names);
        missing.removeAll(known.get());
        if (missing.isEmpty()) {
            log.info("Coordinator {} can reach every resource of this process: {}", client.currentNode(), names);
            return;
        }
        String message = "resource(s) " + missing + " are not registered at the coordinator " + client.currentNode()
                + " (it knows " + new TreeSet<>(known.get()) + "): a branch prepared on them could not be finished by the"
                + " coordinator after a crash. Register them there (pledge.resources.<name>.type/url/user/password) or,"
                + " knowingly, set pledge.participant.resource-check=warn";
        if (mode == ResourceCheck.FAIL) {
            throw new IllegalStateException(message);
        }
        log.warn("{}", message);
    }

    /** Sends pending completion reports (bounded wait) and stops the background sender. */
    @Override
    public void close() {
        notifier.close();
    }
}
