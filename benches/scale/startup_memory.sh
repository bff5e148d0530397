#!/usr/bin/env bash
# Part of the scale benchmarks (BENCHMARKS.md, "Every read from memory").
# Needs $WORK/city.db: 1,000,000 assets of the generator's city mix, made by
#   hutong generate --assets 1000000 --seed 2024 --out $WORK/city.geojson
#   hutong import $WORK/city.geojson --db sqlite://$WORK/city.db
# and wrk (scripts/install-bench-deps.sh).
# usage: startup_memory.sh BINARY LABEL  — start-up time, RSS after start, RSS after
# every asset served once, on a copy of /tmp/m1/city.db.
bin=$(realpath "$1"); label=$2; port=18080
work=${WORK:-/tmp/hutong-scale}
here=$(cd "$(dirname "$0")" && pwd)
cd "$work"
rm -f run.db run.db-wal run.db-shm; cp city.db run.db
start=$(date +%s.%N)
$bin serve --db sqlite://$work/run.db --listen 127.0.0.1:$port > serve-$label.log 2>&1 &
pid=$!
until curl -s -o /dev/null localhost:$port/health; do kill -0 $pid 2>/dev/null || { echo "server exited"; exit 1; }; sleep 0.05; done
ready=$(date +%s.%N)
rss_start=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
# every asset once: each kind, 10,000 at a time
t0=$(date +%s.%N)
for kind in courtyard building lane drainage light charger; do
  offset=0
  while :; do
    n=$(curl -s "localhost:$port/v1/assets?kind=$kind&limit=10000&offset=$offset" | python3 -c "import json,sys; print(json.load(sys.stdin)['numberReturned'])")
    [ "$n" -eq 0 ] && break
    offset=$((offset+n))
  done
done
t1=$(date +%s.%N)
rss_served=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
echo "$label: ready in $(echo "$ready - $start" | bc) s; RSS after start $((rss_start/1024)) MB; every asset served once in $(echo "$t1 - $t0" | bc) s; RSS then $((rss_served/1024)) MB"
kill $pid; wait $pid 2>/dev/null
