package dev.pledge.samples.transfer;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import javax.sql.DataSource;
import java.util.UUID;

/**
 * Moves money between an account in bank A and an account in bank B, two separate databases, and logs
 * the transfer in both under one id. Nothing here knows which transaction manager runs it: with the
 * participant SDK it is one Pledge transaction (two XA branches, the decision logged by the coordinator),
 * with the profile {@code atomikos} one Atomikos transaction.
 */
@Service
public class TransferService {
    public static final String BANK_A = "bank-a";
    public static final String BANK_B = "bank-b";

    private final JdbcTemplate bankA;
    private final JdbcTemplate bankB;

    public TransferService(@Qualifier(BANK_A) DataSource bankA, @Qualifier(BANK_B) DataSource bankB) {
        this.bankA = new JdbcTemplate(bankA);
        this.bankB = new JdbcTemplate(bankB);
    }

    /**
     * Moves {@code amountAtoB} from {@code accountA} (bank A) to {@code accountB} (bank B); a negative
     * amount moves money from B to A. Both banks change, or neither.
     *
     * @throws UnknownAccountException if either account does not exist (nothing changes)
     */
    @Transactional
    public void transfer(UUID transferId, int accountA, int accountB, long amountAtoB) {
        // Bank A first, always: with one lock order across the two databases no two transfers can wait for
        // each other in a cycle -- a deadlock neither database could see, each holding only half of it.
        post(bankA, BANK_A, transferId, accountA, -amountAtoB);
        post(bankB, BANK_B, transferId, accountB, amountAtoB);
    }

    private static void post(JdbcTemplate bank, String name, UUID transferId, int account, long delta) {
        if (bank.update("UPDATE account SET balance = balance + ? WHERE id = ?", delta, account) != 1) {
            throw new UnknownAccountException(name, account);
        }
        bank.update("INSERT INTO transfer_log (transfer_id, account_id, delta) VALUES (?, ?, ?)",
                transferId, account, delta);
    }
}
