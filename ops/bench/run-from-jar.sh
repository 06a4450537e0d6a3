#!/usr/bin/env bash
# Shared by the benchmarks that run a main class from the coordinator jar (log-bench.sh, raft-bench.sh):
#
#   ops/bench/run-from-jar.sh <main class> <heap options> -- [benchmark arguments...]
#
# Builds the coordinator jar, then runs the class with Spring Boot's PropertiesLauncher (loader.main),
# logging only warnings, so that the benchmark's table does not drown in INFO lines. The jar's absolute
# path is passed as the system property pledge.coordinator.jar (for benchmarks that start coordinators).
set -euo pipefail

main="$1"
heap="$2"
shift 2
[[ "${1:-}" == "--" ]] && shift

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

./mvnw -B -q -DskipTests package -pl coordinator -am

jar="$(ls coordinator/target/pledge-coordinator-*.jar | grep -v -- '-plain\|sources' | head -n 1)"
if [[ ! -f "$jar" ]]; then
  echo "${main##*.}: no coordinator jar in coordinator/target after the build" >&2
  exit 1
fi

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

# shellcheck disable=SC2086 # the heap options are several words on purpose
java $heap \
  -Dlogback.configurationFile="$logback" \
  -Dloader.main="$main" \
  -Dpledge.coordinator.jar="$root/$jar" \
  -cp "$jar" org.springframework.boot.loader.launch.PropertiesLauncher "$@"
