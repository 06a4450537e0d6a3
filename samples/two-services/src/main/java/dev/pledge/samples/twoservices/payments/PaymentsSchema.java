package dev.pledge.samples.twoservices.payments;

import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.util.Map;

/**
 * Creates the tables when missing ({@code payments.init-schema}) and opens the configured wallets. Runs
 * outside any global transaction. A wallet's {@code reserved} part is money promised to reservations not
 * confirmed yet; the checks keep it between 0 and the balance.
 */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class PaymentsSchema implements ApplicationRunner {
    static final String[] TABLES = {
            "CREATE TABLE IF NOT EXISTS wallet (customer VARCHAR(64) PRIMARY KEY, balance BIGINT NOT NULL,"
                    + " reserved BIGINT NOT NULL DEFAULT 0, CHECK (reserved >= 0), CHECK (balance >= reserved))",
            "CREATE TABLE IF NOT EXISTS payment (order_id UUID PRIMARY KEY,"
                    + " customer VARCHAR(64) NOT NULL REFERENCES wallet, amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),"
                    + " status VARCHAR(16) NOT NULL, calls INTEGER NOT NULL DEFAULT 1,"
                    + " reserved_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), confirmed_at TIMESTAMP WITH TIME ZONE)"};

    private final JdbcTemplate db;
    private final PaymentsProperties properties;

    PaymentsSchema(JdbcTemplate db, PaymentsProperties properties) {
        this.db = db;
        this.properties = properties;
    }

    @Override
    public void run(ApplicationArguments args) {
        if (properties.initSchema()) {
            for (String ddl : TABLES) {
                db.execute(ddl);
            }
        }
        for (Map.Entry<String, Long> w : properties.wallets().entrySet()) {
            db.update("INSERT INTO wallet (customer, balance) VALUES (?, ?) ON CONFLICT (customer) DO NOTHING",
                    w.getKey(), w.getValue());
        }
    }
}
