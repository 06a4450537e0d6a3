#!/usr/bin/env bash
# Stops the cluster started by ops/cluster/start-3.sh (same PLEDGE_CLUSTER_DIR).
set -uo pipefail
DIR="${PLEDGE_CLUSTER_DIR:-$PWD/pledge-cluster}"
for pidfile in "$DIR"/n*.pid; do
  [ -f "$pidfile" ] || continue
  kill "$(cat "$pidfile")" 2>/dev/null && echo "stopped $(basename "$pidfile" .pid)"
  rm -f "$pidfile"
done
