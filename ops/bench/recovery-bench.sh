#!/usr/bin/env bash
# Restart with N (default 10000) COMMIT-recorded transactions whose branches are still prepared, and
# measure how long the restarted coordinator needs to finish all of them.
# Usage: ops/bench/recovery-bench.sh [N] [--plain]   (--plain: the repackaged jar, no class-data-sharing archive)
# Last line: RESULT pending=<n> seconds=<s>. Target: 10000 within 10 s (docs/reliability.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ARGS=("$@")
cd "$ROOT"
./mvnw -q -B -DskipTests install -pl coordinator,testkit -am
CP="$(./mvnw -q -B -pl testkit dependency:build-classpath -Dmdep.outputFile=/dev/stdout)"
exec java -Dpledge.coordinator.jar="$ROOT/coordinator/target/pledge-coordinator-0.1.0-SNAPSHOT.jar" \
  -cp "$ROOT/testkit/target/classes:$CP" dev.pledge.testkit.bench.RecoveryBench "${ARGS[@]}"
