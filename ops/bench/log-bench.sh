#!/usr/bin/env bash
# Decision log benchmark: FORCED COMMIT appends to FileDecisionLog with group commit, with one
# fsync per record, the raw disk doing the same writes, and the log's thread hand-off without any
# disk (see docs/benchmarks.md, "Decision log").
#
#   ops/bench/log-bench.sh [--seconds=2] [--rounds=3] [--warmup=4] [--threads=1,8,64] [--dir=/tmp]
#
# Builds the coordinator jar, then runs dev.pledge.coordinator.bench.LogBench from it. The four
# modes run in short interleaved rounds and the table shows the median round. --dir must be on
# the disk you want to measure (the default is the system temp directory). Takes about 2 min with
# the defaults, plus the build. The line before last is
#   CEILING handoff_vs_raw=<x> group_vs_handoff=<y> ...
# and the last line printed is
#   RESULT group_vs_single=<x> group_vs_raw=<y>
# for the highest thread count.
set -euo pipefail

exec "$(dirname "${BASH_SOURCE[0]}")/run-from-jar.sh" dev.pledge.coordinator.bench.LogBench "-Xms1g -Xmx1g" -- "$@"
