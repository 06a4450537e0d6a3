#!/usr/bin/env bash
# The crash campaign (docs/reliability.md). Builds what it needs, then runs the driver:
#   ops/chaos/run.sh --rounds 1000 --seed 42
# Options: --rounds N, --seed S (default: the clock; always printed), --focus <failpoint | random-instant:coordinator
# | random-instant:workload>, --threads T (workload threads, default 4), --work-dir DIR (default: a new temp dir;
# round logs under DIR/logs, kept for rounds with violations), --keep-logs, --cluster 1|3 (3: a Raft group of three
# coordinators; coordinator rounds kill the leader or a follower, failpoints fire on the leader). Set
# CHAOS_SKIP_BUILD=1 to reuse the last build. Exit status: 0 clean, 1 violations, 2 driver errors.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ -z "${CHAOS_SKIP_BUILD:-}" ]]; then
  echo "building coordinator and ops/chaos ..." >&2
  (cd "$root" && ./mvnw -B -q -pl coordinator,ops/chaos -am install -Dmaven.test.skip=true)
fi

jar="$(ls "$root"/coordinator/target/pledge-coordinator-*.jar 2>/dev/null | head -n 1 || true)"
if [[ -z "$jar" || ! -f "$here/target/classpath.txt" ]]; then
  echo "coordinator jar or ops/chaos/target/classpath.txt missing: run without CHAOS_SKIP_BUILD" >&2
  exit 2
fi

exec java -Xmx512m -XX:+UseSerialGC \
  -Dpledge.coordinator.jar="$jar" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" \
  dev.pledge.chaos.ChaosCampaign "$@"
