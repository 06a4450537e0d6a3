package dev.pledge.chaos;

import dev.pledge.testkit.ApiClient;
import dev.pledge.xa.XidCodec;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.QueueBrowser;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import jakarta.jms.XAConnection;
import jakarta.jms.XASession;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQXAConnectionFactory;
import tools.jackson.databind.JsonNode;

import javax.transaction.xa.XAException;
import javax.transaction.xa.XAResource;
import javax.transaction.xa.Xid;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The campaign's oracle, reading the real resources and the coordinator's API after the system has quiesced
 * (DESIGN.md §9). It trusts none of Pledge's own classes for its answers: prepared XIDs come from
 * {@code pg_prepared_xacts} and a raw ActiveMQ {@code recover}, data from plain SQL and a queue browser.
 *
 * <ul>
 * <li><b>atomicity</b>: every txid's {@code transfer_log} row is in both banks or in neither, with opposite deltas;</li>
 * <li><b>conservation</b>: the banks hold the initial total together, and each bank's balances match its log;</li>
 * <li><b>exactly-once</b>: every message sent is either processed (one row, primary key) or still queued, never
 * both, never lost, never dead-lettered;</li>
 * <li><b>decisions</b>: every txid with data is COMMITTED at the coordinator, and every transaction the
 * coordinator lists as COMMITTED has its data;</li>
 * <li><b>prepared</b>: no XID of this cluster is prepared in bank_a, bank_b or the broker;</li>
 * <li><b>undecided</b>: nothing in-doubt, PREPARING, COMMITTING or ABORTING, and no heuristic outcome.</li>
 * </ul>
 */
final class Invariants {
    static final List<String> CHECKS = List.of("atomicity", "conservation", "exactly-once", "decisions", "prepared",
            "undecided");
    private static final List<String> UNDECIDED = List.of("PREPARING", "COMMITTING", "ABORTING");
    private static final List<String> HEURISTIC = List.of("HEURISTIC_COMMIT", "HEURISTIC_ROLLBACK", "HEURISTIC_MIXED");
    private static final int MAX_LISTED = 5;

    /** The result of one check: its violations (empty when it holds). */
    record Check(String name, List<String> violations) {
    }

    /** All checks of one round, and what they looked at. */
    record Report(List<Check> checks, int txidsChecked, int processed, int queued) {
        int violations() {
            int n = 0;
            for (Check c : checks) {
                n += c.violations().size();
            }
            return n;
        }

        String summary() {
            StringBuilder sb = new StringBuilder();
            for (Check c : checks) {
                if (!c.violations().isEmpty()) {
                    sb.append(sb.length() == 0 ? "" : "; ").append(c.name()).append(": ").append(c.violations().size())
                            .append(" ").append(c.violations().subList(0, Math.min(MAX_LISTED, c.violations().size())));
                }
            }
            return sb.length() == 0 ? "all hold" : sb.toString();
        }
    }

    private final String postgres;
    private final String brokerUrl;
    private final String clusterId;
    private ApiClient api;
    /** Txids whose data was already found COMMITTED at the coordinator. */
    private final Set<String> agreed = new HashSet<>();
    /** Listing cursor: COMMITTED transactions up to this txid were already matched with their data. */
    private String committedCursor;

    Invariants(String postgres, String brokerUrl, String clusterId) {
        this.postgres = postgres;
        this.brokerUrl = brokerUrl;
        this.clusterId = clusterId;
    }

    /** The coordinator the next checks ask (a restarted coordinator has a new client). */
    void coordinator(ApiClient api, boolean restarted) {
        this.api = api;
        if (restarted) {
            committedCursor = null; // only pending decisions survive a restart in the listing
        }
    }

    // ------------------------------------------------------------------ quiescence

    /** Null once nothing is in doubt, undecided or prepared anywhere; otherwise what is still pending. */
    String pending() {
        try {
            List<String> waiting = new ArrayList<>();
            waiting.addAll(inDoubt());
            waiting.addAll(listed(UNDECIDED));
            waiting.addAll(preparedXids());
            return waiting.isEmpty() ? null : waiting.size() + " pending, e.g. " + waiting.get(0);
        } catch (RuntimeException e) {
            return "cannot tell yet: " + e.getMessage();
        }
    }

    /** Polls {@link #pending()} until it is null; returns null, or the last pending description on timeout. */
    String awaitQuiescence(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        String last;
        while ((last = pending()) != null && System.nanoTime() < end) {
            Thread.sleep(150);
        }
        return last;
    }

    // ------------------------------------------------------------------ the checks

    Report check(Collection<String> sentKeys) throws SQLException, JMSException {
        Map<String, long[]> logA = transferLog(ChaosSchema.BANK_A);
        Map<String, long[]> logB = transferLog(ChaosSchema.BANK_B);
        Map<String, String> processed = processed();
        List<String> queued = browse(ChaosSchema.QUEUE);
        List<String> deadLettered = browse(ChaosSchema.DEAD_LETTER_QUEUE);

        List<String> atomicity = new ArrayList<>();
        for (Map.Entry<String, long[]> e : logA.entrySet()) {
            long[] b = logB.get(e.getKey());
            if (b == null) {
                atomicity.add(e.getKey() + " in bank_a only");
            } else if (e.getValue()[1] + b[1] != 0) {
                atomicity.add(e.getKey() + " deltas " + e.getValue()[1] + "/" + b[1] + " do not cancel");
            }
        }
        for (String txid : logB.keySet()) {
            if (!logA.containsKey(txid)) {
                atomicity.add(txid + " in bank_b only");
            }
        }

        List<String> conservation = new ArrayList<>();
        long balanceA = balance(ChaosSchema.BANK_A);
        long balanceB = balance(ChaosSchema.BANK_B);
        if (balanceA + balanceB != ChaosSchema.totalMoney()) {
            conservation.add("total " + (balanceA + balanceB) + " != " + ChaosSchema.totalMoney());
        }
        long perBank = (long) ChaosSchema.ACCOUNTS * ChaosSchema.INITIAL_BALANCE;
        if (balanceA != perBank + sumDeltas(logA)) {
            conservation.add("bank_a balance " + balanceA + " != initial + logged deltas " + (perBank + sumDeltas(logA)));
        }
        if (balanceB != perBank + sumDeltas(logB)) {
            conservation.add("bank_b balance " + balanceB + " != initial + logged deltas " + (perBank + sumDeltas(logB)));
        }

        List<String> exactlyOnce = new ArrayList<>();
        Set<String> inQueue = new HashSet<>();
        for (String key : queued) {
            if (!inQueue.add(key)) {
                exactlyOnce.add(key + " queued twice");
            }
            if (processed.containsKey(key)) {
                exactlyOnce.add(key + " processed by " + processed.get(key) + " and still queued (acknowledgement lost)");
            }
        }
        for (String key : deadLettered) {
            exactlyOnce.add(key + " dead-lettered" + (processed.containsKey(key) ? " after being processed by "
                    + processed.get(key) : ""));
        }
        Set<String> sent = new HashSet<>(sentKeys);
        for (String key : sent) {
            if (!processed.containsKey(key) && !inQueue.contains(key) && !deadLettered.contains(key)) {
                exactlyOnce.add(key + " lost: neither processed nor queued");
            }
        }
        for (String key : processed.keySet()) {
            if (!sent.contains(key)) {
                exactlyOnce.add(key + " processed but never sent");
            }
        }

        List<String> decisions = new ArrayList<>();
        Set<String> processedTxids = new HashSet<>(processed.values());
        Map<String, String> committedLabels = newlyCommitted();
        for (Map.Entry<String, String> e : committedLabels.entrySet()) {
            String txid = e.getKey();
            if ("chaos-transfer".equals(e.getValue()) && !(logA.containsKey(txid) && logB.containsKey(txid))) {
                decisions.add(txid + " COMMITTED at the coordinator but transfer_log has it in"
                        + (logA.containsKey(txid) ? " bank_a" : "") + (logB.containsKey(txid) ? " bank_b" : "")
                        + (logA.containsKey(txid) || logB.containsKey(txid) ? " only" : " neither bank"));
            } else if ("chaos-process".equals(e.getValue()) && !processedTxids.contains(txid)) {
                decisions.add(txid + " COMMITTED at the coordinator but no processed row has it");
            }
        }
        Set<String> withData = new HashSet<>(logA.keySet());
        withData.addAll(logB.keySet());
        withData.addAll(processedTxids);
        int asked = 0;
        for (String txid : withData) {
            if (agreed.contains(txid)) {
                continue;
            }
            String state = committedLabels.containsKey(txid) ? "COMMITTED" : api.state(txid);
            asked++;
            if ("COMMITTED".equals(state)) {
                agreed.add(txid);
            } else {
                decisions.add(txid + " has data but the coordinator says " + state);
            }
        }

        List<String> prepared = preparedXids();
        List<String> undecided = new ArrayList<>(inDoubt());
        undecided.addAll(listed(UNDECIDED));
        undecided.addAll(listed(HEURISTIC));

        List<Check> checks = List.of(new Check("atomicity", atomicity), new Check("conservation", conservation),
                new Check("exactly-once", exactlyOnce), new Check("decisions", decisions),
                new Check("prepared", prepared), new Check("undecided", undecided));
        return new Report(checks, asked + committedLabels.size(), processed.size(), queued.size());
    }

    /** COMMITTED transactions the coordinator lists after the cursor, txid -> label; advances the cursor. */
    private Map<String, String> newlyCommitted() {
        Map<String, String> found = new LinkedHashMap<>();
        String cursor = committedCursor;
        while (true) {
            ApiClient.Response r = api.get("/api/v1/transactions?state=COMMITTED&limit=500"
                    + (cursor == null ? "" : "&cursor=" + cursor));
            if (r.status() != 200) {
                throw new IllegalStateException("GET /api/v1/transactions answered " + r.status() + ": " + r.body());
            }
            JsonNode page = r.json();
            for (JsonNode t : page.path("items")) {
                found.put(t.path("txid").asString(), t.path("label").asString());
                committedCursor = t.path("txid").asString();
            }
            JsonNode next = page.get("nextCursor");
            if (next == null || next.isNull()) {
                return found;
            }
            cursor = next.asString();
        }
    }

    private List<String> inDoubt() {
        ApiClient.Response r = api.get("/api/v1/in-doubt");
        if (r.status() != 200) {
            throw new IllegalStateException("GET /api/v1/in-doubt answered " + r.status());
        }
        List<String> out = new ArrayList<>();
        for (JsonNode n : r.json()) {
            out.add("in-doubt " + n.path("transaction").path("txid").asString());
        }
        return out;
    }

    private List<String> listed(List<String> states) {
        List<String> out = new ArrayList<>();
        for (String state : states) {
            ApiClient.Response r = api.get("/api/v1/transactions?state=" + state + "&limit=50");
            if (r.status() != 200) {
                throw new IllegalStateException("GET /api/v1/transactions?state=" + state + " answered " + r.status());
            }
            for (JsonNode t : r.json().path("items")) {
                out.add(state + " " + t.path("txid").asString());
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ prepared XIDs, read without Pledge's adapters

    /** Our XIDs prepared anywhere: {@code pg_prepared_xacts} (every database) and ActiveMQ recover. */
    List<String> preparedXids() {
        List<String> out = new ArrayList<>();
        try (Connection c = connect("postgres"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT gid, database FROM pg_prepared_xacts")) {
            while (rs.next()) {
                String gtrid = pgjdbcGtrid(rs.getString(1));
                if (ours(gtrid)) {
                    out.add("prepared in " + rs.getString(2) + ": " + gtrid);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("pg_prepared_xacts unreadable: " + e.getMessage(), e);
        }
        try {
            XAConnection connection = new ActiveMQXAConnectionFactory(brokerUrl).createXAConnection();
            try {
                XASession session = connection.createXASession();
                for (Xid xid : session.getXAResource().recover(XAResource.TMSTARTRSCAN | XAResource.TMENDRSCAN)) {
                    String gtrid = new String(xid.getGlobalTransactionId(), StandardCharsets.US_ASCII);
                    if (xid.getFormatId() == XidCodec.FORMAT_ID && ours(gtrid)) {
                        out.add("prepared in " + ChaosSchema.MQ + ": " + gtrid);
                    }
                }
            } finally {
                connection.close();
            }
        } catch (JMSException | XAException e) {
            throw new IllegalStateException("ActiveMQ recover failed: " + e, e);
        }
        return out;
    }

    private boolean ours(String gtrid) {
        return gtrid != null && gtrid.startsWith(clusterId + ":");
    }

    /** pgjdbc's GID is {@code formatId_base64(gtrid)_base64(bqual)}; null when it is not ours or not pgjdbc's. */
    private static String pgjdbcGtrid(String gid) {
        String[] parts = gid.split("_");
        if (parts.length != 3 || !parts[0].equals(String.valueOf(XidCodec.FORMAT_ID))) {
            return null;
        }
        try {
            return new String(Base64.getDecoder().decode(parts[1]), StandardCharsets.US_ASCII);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    // ------------------------------------------------------------------ data

    /** txid -> {account, delta}. */
    private Map<String, long[]> transferLog(String bank) throws SQLException {
        Map<String, long[]> out = new HashMap<>();
        try (Connection c = connect(bank); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT txid, account, delta FROM transfer_log")) {
            while (rs.next()) {
                out.put(rs.getString(1), new long[] {rs.getInt(2), rs.getLong(3)});
            }
        }
        return out;
    }

    private Map<String, String> processed() throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (Connection c = connect(ChaosSchema.BANK_A); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT msg_key, txid FROM processed")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }

    private long balance(String bank) throws SQLException {
        try (Connection c = connect(bank); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COALESCE(SUM(balance), 0) FROM accounts")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static long sumDeltas(Map<String, long[]> log) {
        long sum = 0;
        for (long[] row : log.values()) {
            sum += row[1];
        }
        return sum;
    }

    /** Every message text on a queue, by browsing (consumes nothing). */
    private List<String> browse(String queue) throws JMSException {
        List<String> out = new ArrayList<>();
        jakarta.jms.Connection connection = new ActiveMQConnectionFactory(brokerUrl).createConnection();
        try {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            QueueBrowser browser = session.createBrowser(session.createQueue(queue));
            Enumeration<?> messages = browser.getEnumeration();
            while (messages.hasMoreElements()) {
                Message m = (Message) messages.nextElement();
                out.add(m instanceof TextMessage ? ((TextMessage) m).getText() : m.getJMSMessageID());
            }
        } finally {
            connection.close();
        }
        return out;
    }

    Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(postgres + "/" + database, "postgres", null);
    }
}
