package dev.pledge.xa;

import org.junit.jupiter.api.Test;

import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class XaResourceAdaptersTest {

    @Test
    void createsOneAdapterPerType() {
        assertThat(XaResourceAdapters.create(new ResourceConfig("a", "postgresql", "jdbc:postgresql://h/db", "u", "p")))
                .isInstanceOf(PostgresXaAdapter.class);
        assertThat(XaResourceAdapters.create(new ResourceConfig("b", "h2", "jdbc:h2:tcp://h/db", "sa", "")))
                .isInstanceOf(H2XaAdapter.class);
        assertThat(XaResourceAdapters.create(new ResourceConfig("c", "activemq", "tcp://h:61616", null, null)))
                .isInstanceOf(ActiveMqXaAdapter.class);
    }

    @Test
    void unknownTypeNamesTheResourceAndTheAllowedTypes() {
        assertThatThrownBy(() -> XaResourceAdapters.create(new ResourceConfig("ledger", "oracle", "jdbc:oracle:x", "u", "p")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ledger").hasMessageContaining("oracle")
                .hasMessageContaining("[postgresql, h2, activemq]");
    }

    @Test
    void urlOfTheWrongKindIsRefusedWithTheExpectedForm() {
        assertThatThrownBy(() -> XaResourceAdapters.create(new ResourceConfig("audit", "h2", "jdbc:postgresql://h/db", null, null)))
                .hasMessageContaining("audit").hasMessageContaining("jdbc:h2:tcp://");
        assertThatThrownBy(() -> XaResourceAdapters.create(new ResourceConfig("orders", "postgresql", "jdbc:h2:tcp://h/db", null, null)))
                .hasMessageContaining("orders").hasMessageContaining("jdbc:postgresql://");
    }

    @Test
    void configNeverPrintsItsPasswordAndNamesWhatIsMissing() {
        assertThat(new ResourceConfig("a", "h2", "jdbc:h2:tcp://h/db", "sa", "secret").toString())
                .doesNotContain("secret").contains("****");
        assertThatThrownBy(() -> new ResourceConfig("a", " ", "jdbc:x", null, null))
                .hasMessageContaining("'a'").hasMessageContaining("type");
        assertThatThrownBy(() -> new ResourceConfig("a", "h2", "", null, null)).hasMessageContaining("url");
    }

    @Test
    void postgresGidsDecodeBackToTheirXids() {
        PledgeXid ours = XidCodec.encode("c1:7:1042", "orders-db:app-1:1");
        Xid decoded = PostgresXaAdapter.gidToXid(PostgresXaAdapter.xidToGid(ours));
        assertThat(XidCodec.decode(decoded, "c1")).contains(ours);
        assertThat(PostgresXaAdapter.gidToXid("handmade")).isNull();
        assertThat(PostgresXaAdapter.gidToXid("x_y_z")).isNull();
        // the longest XID the codec allows still fits PostgreSQL's 200-character GID
        PledgeXid longest = XidCodec.encode("abcdefghijkl:1234567890123456789:1234567890123456789",
                "b".repeat(XidCodec.MAX_BRANCH_ID_LENGTH));
        assertThat(PostgresXaAdapter.xidToGid(longest).length()).isLessThan(200);
    }

    @Test
    void foreignXidShowsTextOrHexAndComparesByValue() {
        ForeignXid text = new ForeignXid(4660, "tx-1".getBytes(StandardCharsets.US_ASCII), new byte[] {1, 2});
        assertThat(text.toString()).isEqualTo("XID[4660/tx-1/0x0102]");
        assertThat(text).isEqualTo(ForeignXid.copyOf(text)).hasSameHashCodeAs(ForeignXid.copyOf(text));
    }
}
