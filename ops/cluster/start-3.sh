#!/usr/bin/env bash
# Starts a 3-node Pledge cluster on loopback (Raft-replicated decision log), one data directory and
# pair of ports per node, and prints the API URLs. Stop it with ops/cluster/stop.sh.
#   PLEDGE_BOOTSTRAP_TOKEN   token for the API (default: generated and printed)
#   PLEDGE_CLUSTER_DIR       where data and logs go (default: ./pledge-cluster)
#   PLEDGE_BASE_PORT         API ports BASE+1..3, Raft ports BASE+101..103 (default 8080)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${PLEDGE_CLUSTER_DIR:-$PWD/pledge-cluster}"
BASE="${PLEDGE_BASE_PORT:-8080}"
TOKEN="${PLEDGE_BOOTSTRAP_TOKEN:-$(head -c 24 /dev/urandom | base64 | tr -d '/+=' )}"
JAR="$ROOT/coordinator/target/pledge-coordinator-0.1.0-SNAPSHOT.jar"
if [ ! -f "$JAR" ]; then
  (cd "$ROOT" && ./mvnw -q -DskipTests package -pl coordinator -am)
fi
mkdir -p "$DIR"
PEERS=""
for i in 1 2 3; do
  PEERS="${PEERS:+$PEERS,}n$i@127.0.0.1:$((BASE + 100 + i))@http://127.0.0.1:$((BASE + i))"
done
for i in 1 2 3; do
  PLEDGE_BOOTSTRAP_TOKEN="$TOKEN" nohup java -Xmx512m -jar "$JAR" \
    --server.port=$((BASE + i)) --pledge.data-dir="$DIR/n$i" --pledge.cluster-id=pledge \
    --pledge.node-id=n$i --pledge.cluster.mode=raft --pledge.cluster.peers="$PEERS" \
    --pledge.public-url=http://127.0.0.1:$((BASE + i)) "$@" > "$DIR/n$i.out" 2>&1 &
  echo $! > "$DIR/n$i.pid"
done
for i in 1 2 3; do
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$((BASE + i))/actuator/health/readiness" > /dev/null && break
    sleep 0.5
  done
done
echo "Pledge cluster (3 nodes, data in $DIR):"
for i in 1 2 3; do
  echo "  n$i  http://127.0.0.1:$((BASE + i))/api/v1   (raft 127.0.0.1:$((BASE + 100 + i)), log $DIR/n$i.out)"
done
echo "  token: $TOKEN"
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$((BASE + 1))/api/v1/cluster" && echo
