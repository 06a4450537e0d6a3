package dev.pledge.samples.twoservices.orders;

import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/** Creates the orders table when missing ({@code orders.init-schema}), outside any global transaction. */
@Component
@Order(Ordered.HIGHEST_PRECEDENCE)
class OrdersSchema implements ApplicationRunner {
    static final String TABLE = "CREATE TABLE IF NOT EXISTS orders (id UUID PRIMARY KEY, customer VARCHAR(64) NOT NULL,"
            + " amount_cents BIGINT NOT NULL, txid VARCHAR(120) NOT NULL,"
            + " created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now())";

    private final JdbcTemplate db;
    private final OrdersProperties properties;

    OrdersSchema(JdbcTemplate db, OrdersProperties properties) {
        this.db = db;
        this.properties = properties;
    }

    @Override
    public void run(ApplicationArguments args) {
        if (properties.initSchema()) {
            db.execute(TABLE);
        }
    }
}
