#!/usr/bin/env bash
# Decision log benchmark: FORCED COMMIT appends to FileDecisionLog with group commit, with one
# fsync per record, and the raw disk doing the same writes (see docs/benchmarks.md, "Decision log").
#
#   ops/bench/log-bench.sh [--seconds=2] [--rounds=3] [--warmup=4] [--threads=1,8,64] [--dir=/tmp]
#
# Builds the coordinator jar, then runs dev.pledge.coordinator.bench.LogBench from it. The three
# modes run in short interleaved rounds and the table shows the median round. --dir must be on
# the disk you want to measure (the default is the system temp directory). Takes about 90 s with
# the defaults, plus the build. The last line printed is
#   RESULT group_vs_single=<x> group_vs_raw=<y>
# for the highest thread count.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

./mvnw -B -q -DskipTests package -pl coordinator -am

jar="$(ls coordinator/target/pledge-coordinator-*.jar | head -n 1)"
if [[ ! -f "$jar" ]]; then
  echo "log-bench: no coordinator jar in coordinator/target after the build" >&2
  exit 1
fi

# Only warnings from the log itself: the table must not drown in INFO lines.
logback="$(mktemp --suffix=.xml)"
trap 'rm -f "$logback"' EXIT
cat > "$logback" <<'XML'
<configuration>
  <appender name="stderr" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="stderr"/></root>
</configuration>
XML

# The repackaged Spring Boot jar: PropertiesLauncher runs any main class named by loader.main.
java -Xms1g -Xmx1g \
  -Dlogback.configurationFile="$logback" \
  -Dloader.main=dev.pledge.coordinator.bench.LogBench \
  -cp "$jar" org.springframework.boot.loader.launch.PropertiesLauncher "$@"
