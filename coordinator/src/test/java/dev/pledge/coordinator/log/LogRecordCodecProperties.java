package dev.pledge.coordinator.log;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import static org.assertj.core.api.Assertions.assertThat;

class LogRecordCodecProperties {

    @Property(tries = 500)
    void decodingAnEncodedRecordGivesItBack(@ForAll("records") LogRecord record) throws Exception {
        assertThat(LogRecordCodec.decode(LogRecordCodec.encode(record))).isEqualTo(record);
    }

    @Property(tries = 300)
    void aFrameDetectsEverySingleByteChange(@ForAll("records") LogRecord record,
                                            @ForAll int position, @ForAll byte xor) {
        byte[] frame = LogSegment.frame(record);
        int at = Math.floorMod(position, frame.length);
        int change = xor == 0 ? 1 : xor;
        frame[at] ^= (byte) change;

        LogSegment.Scan scan = scanOf(frame);

        assertThat(scan.frames()).isEmpty();
    }

    private static LogSegment.Scan scanOf(byte[] frame) {
        java.nio.ByteBuffer file = java.nio.ByteBuffer.allocate(LogSegment.HEADER_BYTES + frame.length);
        LogSegment.putHeader(file, 0);
        file.put(frame);
        try {
            return LogSegment.scan(java.nio.file.Path.of("segment-test.log"), 0, file.array());
        } catch (CorruptLogException e) {
            throw new AssertionError(e);
        }
    }

    @Provide
    Arbitrary<LogRecord> records() {
        return LogRecords.record();
    }
}
