#!/usr/bin/env bash
# Part of the scale benchmarks (BENCHMARKS.md, "Every read from memory").
# Needs $WORK/city.db: 1,000,000 assets of the generator's city mix, made by
#   hutong generate --assets 1000000 --seed 2024 --out $WORK/city.geojson
#   hutong import $WORK/city.geojson --db sqlite://$WORK/city.db
# and wrk (scripts/install-bench-deps.sh).
# usage: random_load.sh BINARY LABEL — fresh process on a copy of city.db; wrk:
# /health (64 conns) as the ceiling, random nearby (64 conns) first pass
# and again, random items boxes (16 conns) first pass and again; RSS.
bin=$(realpath "$1"); label=$2; port=18081
work=${WORK:-/tmp/hutong-scale}
here=$(cd "$(dirname "$0")" && pwd)
cd "$work"
rm -f load.db load.db-wal load.db-shm; cp city.db load.db
$bin serve --db sqlite://$work/load.db --listen 127.0.0.1:$port > load-$label.log 2>&1 &
pid=$!
until curl -s -o /dev/null localhost:$port/health; do kill -0 $pid 2>/dev/null || { echo "server exited"; exit 1; }; sleep 0.05; done
rate() { grep "Requests/sec" | awk '{print $2}'; }
h=$(wrk -t2 -c64 -d10s http://127.0.0.1:$port/health | rate)
n1=$(wrk -t2 -c64 -d15s -s "$here/nearby.lua" http://127.0.0.1:$port | rate)
n2=$(wrk -t2 -c64 -d15s -s "$here/nearby.lua" http://127.0.0.1:$port | rate)
i1=$(wrk -t2 -c16 -d15s -s "$here/items.lua" http://127.0.0.1:$port | rate)
i2=$(wrk -t2 -c16 -d15s -s "$here/items.lua" http://127.0.0.1:$port | rate)
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
echo "$label: /health $h/s; nearby first $n1/s, again $n2/s; items(1000) first $i1/s, again $i2/s; RSS after $((rss/1024)) MB"
kill $pid; wait $pid 2>/dev/null
