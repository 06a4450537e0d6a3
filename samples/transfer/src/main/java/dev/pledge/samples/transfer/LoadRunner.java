package dev.pledge.samples.transfer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.ExitCodeGenerator;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import javax.sql.DataSource;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The batch: runs {@code transfer.load.*}, then checks what the banks hold -- money conserved, every
 * transfer logged in both banks or in neither -- and prints both. Exit code 1 if a check failed.
 */
@Component
@Order(Ordered.LOWEST_PRECEDENCE)
@ConditionalOnProperty(name = "transfer.load.enabled", havingValue = "true", matchIfMissing = true)
public class LoadRunner implements ApplicationRunner, ExitCodeGenerator {
    private static final Logger log = LoggerFactory.getLogger(LoadRunner.class);

    private final TransferService service;
    private final TransferProperties properties;
    private final JdbcTemplate bankA;
    private final JdbcTemplate bankB;
    private final String transactionManager;
    private int exitCode;

    public LoadRunner(TransferService service, TransferProperties properties, Environment environment,
                      @Qualifier(TransferService.BANK_A) DataSource bankA,
                      @Qualifier(TransferService.BANK_B) DataSource bankB) {
        this.service = service;
        this.properties = properties;
        this.bankA = new JdbcTemplate(bankA);
        this.bankB = new JdbcTemplate(bankB);
        this.transactionManager = environment.matchesProfiles("atomikos") ? "Atomikos" : "Pledge";
    }

    @Override
    public void run(ApplicationArguments args) throws Exception {
        long before = total(bankA) + total(bankB);
        TransferLoad.Result r = TransferLoad.run(service, properties.accounts(), properties.load());
        long after = total(bankA) + total(bankB);
        Set<UUID> inA = transferIds(bankA);
        Set<UUID> inB = transferIds(bankB);
        Set<UUID> anywhere = new HashSet<>(inA);
        anywhere.addAll(inB);
        Set<UUID> both = new HashSet<>(inA);
        both.retainAll(inB);
        Set<UUID> onlyOne = new HashSet<>(anywhere);
        onlyOne.removeAll(both);
        Set<UUID> lostCommits = new HashSet<>(r.committed());
        lostCommits.removeAll(both);
        Set<UUID> appliedRollbacks = new HashSet<>(r.rolledBack());
        appliedRollbacks.retainAll(anywhere);

        System.out.println(r.summary(transactionManager));
        System.out.printf("money in both banks: %d before, %d after%n", before, after);
        System.out.printf("transfers logged in one bank only: %d; committed but missing: %d; rolled back but applied: %d%n",
                onlyOne.size(), lostCommits.size(), appliedRollbacks.size());
        for (String e : r.sampleErrors()) {
            System.out.println("  e.g. " + e);
        }
        // a transfer in doubt may still be half-finished right now: the coordinator completes it shortly
        boolean ok = lostCommits.isEmpty() && appliedRollbacks.isEmpty()
                && (!r.unknown().isEmpty() || (before == after && onlyOne.isEmpty()));
        if (!r.unknown().isEmpty()) {
            log.warn("{} transfers ended in doubt; the coordinator finishes them -- check the banks again later",
                    r.unknown().size());
        }
        System.out.println(ok ? "OK: money conserved, every transfer in both banks or neither" : "FAILED: see above");
        exitCode = ok ? 0 : 1;
    }

    @Override
    public int getExitCode() {
        return exitCode;
    }

    private static long total(JdbcTemplate bank) {
        Long sum = bank.queryForObject("SELECT COALESCE(SUM(balance), 0) FROM account", Long.class);
        return sum == null ? 0 : sum;
    }

    private static Set<UUID> transferIds(JdbcTemplate bank) {
        List<UUID> ids = bank.queryForList("SELECT transfer_id FROM transfer_log", UUID.class);
        return new HashSet<>(ids);
    }
}
