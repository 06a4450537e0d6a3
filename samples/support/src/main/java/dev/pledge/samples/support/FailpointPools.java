package dev.pledge.samples.support;

import dev.pledge.sdk.boot.PledgeProperties;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.pool.PledgeTransactionIntegration;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.AgroalConnectionPoolConfiguration.ConnectionValidator;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import jakarta.jms.Session;
import org.apache.activemq.ActiveMQXAConnectionFactory;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;

import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;

/**
 * {@code @Import(FailpointPools.class)} in a sample's crash-test main class: the pools of
 * {@code pledge.datasources.*} (PostgreSQL) and {@code pledge.jms.*} become the same SDK pools (Agroal with
 * the SDK's {@link PledgeTransactionIntegration}; the SDK's pooled XA connection factory) over drivers
 * whose XAResources stop at {@link Failpoint#AFTER_DECISION}. The SDK's auto-configuration then sees a
 * bean of each name and leaves it alone; the application code, the transaction manager and the
 * coordinator protocol are unchanged.
 */
public final class FailpointPools implements ImportBeanDefinitionRegistrar, EnvironmentAware, BeanFactoryAware {
    private Environment environment;
    private BeanFactory beanFactory;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public void setBeanFactory(BeanFactory beanFactory) {
        this.beanFactory = beanFactory;
    }

    @Override
    public void registerBeanDefinitions(AnnotationMetadata metadata, BeanDefinitionRegistry registry) {
        Binder binder = Binder.get(environment);
        Map<String, PledgeProperties.Database> databases = binder
                .bind("pledge.datasources", Bindable.mapOf(String.class, PledgeProperties.Database.class))
                .orElse(Map.of());
        boolean first = true;
        for (Map.Entry<String, PledgeProperties.Database> e : databases.entrySet()) {
            String name = e.getKey();
            PledgeProperties.Database db = e.getValue();
            if (db.url() == null || !db.url().startsWith("jdbc:postgresql:")) {
                throw new IllegalArgumentException("FailpointPools supports PostgreSQL only, not pledge.datasources."
                        + name + ".url=" + db.url());
            }
            String resource = db.resourceName() != null ? db.resourceName() : name;
            RootBeanDefinition bean = new RootBeanDefinition(AgroalDataSource.class,
                    () -> dataSource(resource, db.url(), db.user(), db.password()));
            bean.setPrimary(databases.containsKey("dataSource") ? "dataSource".equals(name) : first);
            bean.setDestroyMethodName("close");
            registry.registerBeanDefinition(name, bean);
            first = false;
        }
        Map<String, PledgeProperties.Broker> brokers = binder
                .bind("pledge.jms", Bindable.mapOf(String.class, PledgeProperties.Broker.class))
                .orElse(Map.of());
        first = true;
        for (Map.Entry<String, PledgeProperties.Broker> e : brokers.entrySet()) {
            String name = e.getKey();
            PledgeProperties.Broker b = e.getValue();
            String resource = b.resourceName() != null ? b.resourceName() : name;
            RootBeanDefinition bean = new RootBeanDefinition(FailpointConnectionFactory.class,
                    () -> connectionFactory(resource, b.brokerUrl()));
            bean.setPrimary(brokers.containsKey("connectionFactory") ? "connectionFactory".equals(name) : first);
            bean.setDestroyMethodName("stop");
            registry.registerBeanDefinition(name, bean);
            first = false;
        }
    }

    /** As {@code PledgePools.dataSource}, with the failpoint driver. */
    private AgroalDataSource dataSource(String resource, String url, String user, String password) {
        PledgeTransactionIntegration integration = new PledgeTransactionIntegration(
                beanFactory.getBean(PledgeTransactionManager.class), resource, true);
        AgroalDataSourceConfigurationSupplier config = new AgroalDataSourceConfigurationSupplier()
                .connectionPoolConfiguration(pool -> pool
                        .maxSize(4)
                        .acquisitionTimeout(Duration.ofSeconds(30))
                        .connectionValidator(ConnectionValidator.defaultValidator())
                        .transactionIntegration(integration)
                        .connectionFactoryConfiguration(factory -> {
                            factory.connectionProviderClassName(FailpointPostgresXADataSource.class.getName()).jdbcUrl(url);
                            if (user != null) {
                                factory.principal(new NamePrincipal(user));
                            }
                            if (password != null) {
                                factory.credential(new SimplePassword(password));
                            }
                            return factory;
                        }));
        try {
            return AgroalDataSource.from(config);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create the failpoint pool of " + resource + ": " + e, e);
        }
    }

    /** As {@code PledgePools.connectionFactory}, with the failpoint sessions. */
    private FailpointConnectionFactory connectionFactory(String resource, String brokerUrl) {
        ActiveMQXAConnectionFactory xa = new ActiveMQXAConnectionFactory(brokerUrl);
        xa.setXaAckMode(Session.AUTO_ACKNOWLEDGE);
        FailpointConnectionFactory pooled = new FailpointConnectionFactory(
                beanFactory.getBean(PledgeTransactionManager.class), resource);
        pooled.setConnectionFactory(xa);
        pooled.setMaxConnections(1);
        return pooled;
    }
}
