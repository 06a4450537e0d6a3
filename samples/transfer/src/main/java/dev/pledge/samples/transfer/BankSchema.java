package dev.pledge.samples.transfer;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import javax.sql.DataSource;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates each bank's tables when missing and opens {@code transfer.accounts} accounts with
 * {@code transfer.initial-balance} each. Runs outside any global transaction (DDL does not belong in one).
 *
 * <p>On PostgreSQL, an account may not end a transaction overdrawn. The check is a constraint trigger
 * {@code DEFERRABLE INITIALLY DEFERRED}: it runs when the transaction ends -- for a two-phase transaction,
 * at {@code PREPARE TRANSACTION} -- so a transfer that overdraws an account is refused there, as a NO vote.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
@ConditionalOnProperty(name = "transfer.init-schema", havingValue = "true", matchIfMissing = true)
public class BankSchema implements ApplicationRunner {
    static final String[] TABLES = {
            "CREATE TABLE IF NOT EXISTS account (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS transfer_log (transfer_id UUID PRIMARY KEY, account_id INTEGER NOT NULL,"
                    + " delta BIGINT NOT NULL, logged_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL)"};

    static final String[] POSTGRES_OVERDRAFT_CHECK = {
            """
            CREATE OR REPLACE FUNCTION forbid_overdraft() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT balance FROM account WHERE id = NEW.id) < 0 THEN
                RAISE EXCEPTION 'account % would be overdrawn', NEW.id USING ERRCODE = 'check_violation';
              END IF;
              RETURN NULL;
            END $$""",
            """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'no_overdraft') THEN
                CREATE CONSTRAINT TRIGGER no_overdraft AFTER INSERT OR UPDATE ON account
                  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION forbid_overdraft();
              END IF;
            END $$"""};

    private final JdbcTemplate bankA;
    private final JdbcTemplate bankB;
    private final TransferProperties properties;

    public BankSchema(@Qualifier(TransferService.BANK_A) DataSource bankA,
                      @Qualifier(TransferService.BANK_B) DataSource bankB, TransferProperties properties) {
        this.bankA = new JdbcTemplate(bankA);
        this.bankB = new JdbcTemplate(bankB);
        this.properties = properties;
    }

    @Override
    public void run(ApplicationArguments args) {
        create(bankA);
        create(bankB);
    }

    private void create(JdbcTemplate bank) {
        for (String ddl : TABLES) {
            bank.execute(ddl);
        }
        String product = bank.execute((ConnectionCallback<String>) c -> c.getMetaData().getDatabaseProductName());
        if ("PostgreSQL".equals(product)) {
            for (String ddl : POSTGRES_OVERDRAFT_CHECK) {
                bank.execute(ddl);
            }
        }
        Long accounts = bank.queryForObject("SELECT count(*) FROM account", Long.class);
        if (accounts != null && accounts == 0) {
            List<Object[]> rows = new ArrayList<>();
            for (int id = 1; id <= properties.accounts(); id++) {
                rows.add(new Object[]{id, properties.initialBalance()});
            }
            bank.batchUpdate("INSERT INTO account (id, balance) VALUES (?, ?)", rows);
        }
    }
}
