package dev.pledge.coordinator.log;

import java.io.IOException;
import java.nio.file.Path;

/** The conformance suite again, with segments so small that most tests roll and checkpoint several times. */
class FileDecisionLogWithTinySegmentsConformanceTest extends DecisionLogConformanceTest {

    @Override
    protected DecisionLog openLog(Path dir) throws IOException {
        FileDecisionLog log = new FileDecisionLog(dir, FileDecisionLog.Options.defaults().withSegmentBytes(4096));
        log.open();
        return log;
    }
}
