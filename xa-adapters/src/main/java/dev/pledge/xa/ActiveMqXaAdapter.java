package dev.pledge.xa;

import jakarta.jms.JMSException;
import jakarta.jms.XAConnection;
import jakarta.jms.XASession;
import org.apache.activemq.ActiveMQXAConnectionFactory;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * ActiveMQ Classic through {@link ActiveMQXAConnectionFactory} (XAConnection, started, then an
 * XASession's XAResource). The broker keeps prepared XA transactions in its store (KahaDB).
 *
 * <p>Bounds: the client sends XA verbs without a reply timeout, so every call runs on a helper
 * thread and is interrupted after its bound (which fails the pending request and closes the
 * connection). Connect and close are bounded too ({@code connectResponseTimeout}, {@code closeTimeout}).
 * A {@code failover:} URL must set {@code timeout=}, or it would retry forever inside one call.
 */
final class ActiveMqXaAdapter extends AbstractXaAdapter {

    private static final AtomicInteger THREADS = new AtomicInteger();
    /** Shared by all ActiveMQ adapters; threads only live while a call runs. */
    private static final ExecutorService CALLS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pledge-xa-activemq-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    private final ActiveMQXAConnectionFactory factory;

    ActiveMqXaAdapter(ResourceConfig config) {
        super(config);
        String url = config.url();
        if (url.startsWith("failover:") && !url.contains("timeout=")) {
            throw new IllegalArgumentException("resource '" + config.name() + "': failover url without timeout"
                    + " would block forever while the broker is down: add ?timeout=" + CONNECT_TIMEOUT_SECONDS * 1000
                    + " (ms) to " + safeUrl(url));
        }
        this.factory = new ActiveMQXAConnectionFactory(url);
        if (config.user() != null) {
            factory.setUserName(config.user());
        }
        if (config.password() != null) {
            factory.setPassword(config.password());
        }
        factory.setConnectResponseTimeout(CONNECT_TIMEOUT_SECONDS * 1000);
        factory.setCloseTimeout(CONNECT_TIMEOUT_SECONDS * 1000);
        factory.setClientIDPrefix("pledge-xa-" + config.name());
    }

    @Override
    protected XaSession open() throws JMSException {
        XAConnection connection = factory.createXAConnection();
        try {
            connection.start();
            XASession session = connection.createXASession();
            return XaSession.of(session.getXAResource(), session, connection);
        } catch (JMSException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    @Override
    protected String probe() throws JMSException {
        XAConnection connection = factory.createXAConnection();
        try {
            connection.start();
            return null;
        } finally {
            connection.close();
        }
    }

    @Override
    protected <T> T bounded(String operation, int timeoutSeconds, Callable<T> work) throws Exception {
        Future<T> future = CALLS.submit(work);
        try {
            return future.get(timeoutSeconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new TimeoutException(operation + " got no answer from the broker within " + timeoutSeconds + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw e;
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw e;
        }
    }
}
