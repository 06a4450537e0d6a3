package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.file.Path;

class FileDecisionLogConformanceTest extends DecisionLogConformanceTest {

    @Override
    protected DecisionLog openLog(Path dir) throws IOException {
        FileDecisionLog log = new FileDecisionLog(dir);
        log.open();
        return log;
    }
}
