package dev.pledge.samples.transfer;

import com.atomikos.icatch.jta.UserTransactionImp;
import com.atomikos.icatch.jta.UserTransactionManager;
import com.atomikos.jdbc.AtomikosDataSourceBean;
import org.postgresql.xa.PGXADataSource;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;
import org.springframework.context.annotation.Primary;
import org.springframework.context.annotation.Profile;
import org.springframework.transaction.jta.JtaTransactionManager;

/**
 * The baseline: profile {@code atomikos} runs the same {@link TransferService} on Atomikos 6, an in-process
 * JTA manager that keeps its transaction log in this application's own directory
 * ({@code transfer.atomikos.log-dir}). The Pledge auto-configuration is excluded in this profile
 * (application.yml). Spring Boot 4 has no Atomikos auto-configuration, so the beans are declared here; the
 * pools are Atomikos' own (it refuses resources it cannot recover itself).
 */
@Configuration(proxyBeanMethods = false)
@Profile("atomikos")
public class AtomikosConfiguration {

    @Bean(initMethod = "init", destroyMethod = "close")
    public UserTransactionManager atomikosTransactionManager(@Value("${transfer.atomikos.log-dir}") String logDir,
                                                             @Value("${transfer.atomikos.name}") String name) {
        // Atomikos takes its settings from system properties (over jta.properties); they must be set before init.
        System.setProperty("com.atomikos.icatch.log_base_dir", logDir);
        System.setProperty("com.atomikos.icatch.output_dir", logDir);
        System.setProperty("com.atomikos.icatch.tm_unique_name", name);
        System.setProperty("com.atomikos.icatch.max_actives", "1000");
        UserTransactionManager tm = new UserTransactionManager();
        tm.setForceShutdown(false);
        return tm;
    }

    @Bean
    public JtaTransactionManager transactionManager(UserTransactionManager atomikosTransactionManager) {
        return new JtaTransactionManager(new UserTransactionImp(), atomikosTransactionManager);
    }

    @Bean(name = TransferService.BANK_A, initMethod = "init", destroyMethod = "close")
    @Primary
    @DependsOn("atomikosTransactionManager")
    public AtomikosDataSourceBean bankA(@Value("${bank.a.url}") String url, @Value("${bank.user}") String user,
                                        @Value("${bank.password}") String password,
                                        @Value("${bank.pool-size}") int poolSize) {
        return pool(TransferService.BANK_A, url, user, password, poolSize);
    }

    @Bean(name = TransferService.BANK_B, initMethod = "init", destroyMethod = "close")
    @DependsOn("atomikosTransactionManager")
    public AtomikosDataSourceBean bankB(@Value("${bank.b.url}") String url, @Value("${bank.user}") String user,
                                        @Value("${bank.password}") String password,
                                        @Value("${bank.pool-size}") int poolSize) {
        return pool(TransferService.BANK_B, url, user, password, poolSize);
    }

    private static AtomikosDataSourceBean pool(String name, String url, String user, String password, int size) {
        if (!url.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("the atomikos profile supports PostgreSQL only; " + name + " is " + url);
        }
        PGXADataSource xa = new PGXADataSource();
        xa.setUrl(url);
        xa.setUser(user);
        xa.setPassword(password);
        AtomikosDataSourceBean ds = new AtomikosDataSourceBean();
        ds.setUniqueResourceName(name);
        ds.setXaDataSource(xa);
        ds.setMinPoolSize(1);
        ds.setMaxPoolSize(size);
        // schema creation runs outside any JTA transaction
        ds.setLocalTransactionMode(true);
        return ds;
    }
}
