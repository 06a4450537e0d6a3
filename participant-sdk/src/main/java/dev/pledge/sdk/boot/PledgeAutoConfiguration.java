package dev.pledge.sdk.boot;

import dev.pledge.sdk.client.CoordinatorClient;
import dev.pledge.sdk.jta.PledgeTransactionManager;
import dev.pledge.sdk.jta.PledgeTransactionManager.Settings;
import dev.pledge.sdk.jta.PledgeTransactionSynchronizationRegistry;
import jakarta.transaction.TransactionSynchronizationRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizers;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.transaction.jta.JtaTransactionManager;

/**
 * Makes an application a Pledge participant once {@code pledge.coordinator.url} is set: the coordinator
 * client, the {@link PledgeTransactionManager} (bean {@code pledgeTransactionManager}, also the JTA
 * {@code UserTransaction}), its {@code TransactionSynchronizationRegistry}, Spring's
 * {@link JtaTransactionManager} on top (bean {@code transactionManager}, so {@code @Transactional} works),
 * the XA pools of {@code pledge.datasources.*} and {@code pledge.jms.*}, and the start-up check that the
 * coordinator can reach every resource. Runs before Boot's DataSource, JMS and transaction
 * auto-configurations so theirs back off.
 */
@AutoConfiguration(beforeName = {
        "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
        "org.springframework.boot.jdbc.autoconfigure.XADataSourceAutoConfiguration",
        "org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration",
        "org.springframework.boot.jms.autoconfigure.JmsAutoConfiguration",
        "org.springframework.boot.activemq.autoconfigure.ActiveMQAutoConfiguration",
        "org.springframework.boot.artemis.autoconfigure.ArtemisAutoConfiguration",
        "org.springframework.boot.transaction.jta.autoconfigure.JtaAutoConfiguration",
        "org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizationAutoConfiguration",
        "org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration"})
@ConditionalOnProperty(prefix = "pledge.coordinator", name = "url")
@EnableConfigurationProperties(PledgeProperties.class)
@Import(PledgePoolsRegistrar.class)
public class PledgeAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public CoordinatorClient pledgeCoordinatorClient(PledgeProperties properties) {
        PledgeProperties.Coordinator c = properties.coordinator();
        return CoordinatorClient.builder()
                .url(c.url())
                .token(c.token())
                .connectTimeout(c.connectTimeout())
                .requestTimeout(c.requestTimeout())
                .initialBackoff(c.initialBackoff())
                .maxBackoff(c.maxBackoff())
                .maxRetryTime(c.maxRetryTime())
                .build();
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public PledgeTransactionManager pledgeTransactionManager(CoordinatorClient client, PledgeProperties properties) {
        PledgeProperties.Participant p = properties.participant();
        return new PledgeTransactionManager(client,
                new Settings(p.instanceId(), p.defaultTimeout(), p.outcomeWait(), p.maxBranches()));
    }

    @Bean
    @ConditionalOnMissingBean(TransactionSynchronizationRegistry.class)
    public PledgeTransactionSynchronizationRegistry pledgeTransactionSynchronizationRegistry(PledgeTransactionManager tm) {
        return tm.synchronizationRegistry();
    }

    @Bean
    @ConditionalOnMissingBean(org.springframework.transaction.TransactionManager.class)
    public JtaTransactionManager transactionManager(PledgeTransactionManager tm,
                                                    ObjectProvider<TransactionManagerCustomizers> customizers) {
        JtaTransactionManager jta = new JtaTransactionManager(tm, tm);
        jta.setTransactionSynchronizationRegistry(tm.synchronizationRegistry());
        customizers.ifAvailable(c -> c.customize(jta));
        return jta;
    }

    /** Runs once every pool bean exists, so every resource name is known (DESIGN.md §6). */
    @Bean
    public SmartInitializingSingleton pledgeResourceCheck(PledgeTransactionManager tm, PledgeProperties properties) {
        return () -> tm.checkResources(properties.participant().resourceCheck());
    }
}
