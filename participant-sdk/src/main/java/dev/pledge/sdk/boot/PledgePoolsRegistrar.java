package dev.pledge.sdk.boot;

import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.pool.PledgePools;
import dev.pledge.sdk.pool.PledgePools.JmsConfig;
import dev.pledge.sdk.pool.PledgePools.XaDataSourceConfig;
import dev.pledge.sdk.pool.PledgeXaPooledConnectionFactory;
import io.agroal.api.AgroalDataSource;
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
import java.util.Map;

/**
 * One bean per {@code pledge.datasources.<name>} (an Agroal XA DataSource) and per {@code pledge.jms.<name>}
 * (a pooled XA ConnectionFactory), named {@code <name>}. The one named {@code dataSource}
 * ({@code connectionFactory}), else the first, is {@code @Primary}, so Boot's JdbcTemplate and JmsTemplate
 * find it. Settings are validated here, so a bad one stops the start with the property's name.
 * A bean the application defines under the same name wins.
 */
final class PledgePoolsRegistrar implements ImportBeanDefinitionRegistrar, EnvironmentAware, BeanFactoryAware {
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
            XaDataSourceConfig config = new XaDataSourceConfig(db.resourceName() != null ? db.resourceName() : name,
                    db.type(), db.url(), db.user(), db.password(), db.maxSize(), db.acquisitionTimeout());
            boolean primary = databases.containsKey("dataSource") ? "dataSource".equals(name) : first;
            first = false;
            if (!registry.containsBeanDefinition(name)) {
                RootBeanDefinition bean = new RootBeanDefinition(AgroalDataSource.class, () -> dataSource(config));
                bean.setPrimary(primary);
                bean.setDestroyMethodName("close");
                registry.registerBeanDefinition(name, bean);
            }
        }
        Map<String, PledgeProperties.Broker> brokers = binder
                .bind("pledge.jms", Bindable.mapOf(String.class, PledgeProperties.Broker.class))
                .orElse(Map.of());
        first = true;
        for (Map.Entry<String, PledgeProperties.Broker> e : brokers.entrySet()) {
            String name = e.getKey();
            PledgeProperties.Broker b = e.getValue();
            JmsConfig config = new JmsConfig(b.resourceName() != null ? b.resourceName() : name, b.brokerUrl(), b.user(),
                    b.password(), b.maxConnections());
            boolean primary = brokers.containsKey("connectionFactory") ? "connectionFactory".equals(name) : first;
            first = false;
            if (!registry.containsBeanDefinition(name)) {
                RootBeanDefinition bean = new RootBeanDefinition(PledgeXaPooledConnectionFactory.class,
                        () -> PledgePools.connectionFactory(config, beanFactory.getBean(PledgeTransactionManager.class)));
                bean.setPrimary(primary);
                bean.setDestroyMethodName("stop");
                registry.registerBeanDefinition(name, bean);
            }
        }
    }

    private AgroalDataSource dataSource(XaDataSourceConfig config) {
        try {
            return PledgePools.dataSource(config, beanFactory.getBean(PledgeTransactionManager.class));
        } catch (SQLException e) {
            throw new IllegalStateException("could not create the XA pool of resource " + config.resourceName() + " ("
                    + config.url() + "): " + e.getMessage(), e);
        }
    }
}
