#!/usr/bin/env bash
# Replication benchmark: the same commit workload against one coordinator (file log) and a 3-node
# Raft cluster, same machine, same run; then SIGKILLs of the leader under load, timing how long until
# a commit decided by the new leader reaches a client (see docs/benchmarks.md, "Replication").
#
#   ops/bench/raft-bench.sh [--threads=16] [--seconds=20] [--warmup=10] [--kills=20]
#                           [--failover-threads=4] [--heap=512m] [--dir=/tmp]
#                           [--node-jvm="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"]
#
# Builds the coordinator jar, then runs dev.pledge.coordinator.bench.RaftBench from it; RaftBench
# starts the coordinators from the same jar (java -jar), on loopback ports, with their data under
# --dir (which must be on the disk you want to measure). Every coordinator runs C1-only with the
# serial GC unless --node-jvm says otherwise (--node-jvm= for the JVM's defaults): on a small machine
# three C2-compiling JVMs are not in a steady state for minutes. Takes about 5 minutes with the
# defaults on a quiet 2-core machine (most of it restarting the killed nodes), plus the build.
# The last line printed is
#   RESULT raft_vs_single=<decisions/s of the cluster / of the single node> failover_p99_ms=<ms>
set -euo pipefail

exec "$(dirname "${BASH_SOURCE[0]}")/run-from-jar.sh" dev.pledge.coordinator.bench.RaftBench "-Xmx512m" -- "$@"
