#!/usr/bin/env bash
# Part of the scale benchmarks (BENCHMARKS.md, "Every read from memory").
# usage: compare.sh BINARY LABEL — hutong against PostGIS in one session,
# on the same 1,000,000 assets ($WORK/city.db for hutong, the database
# hutong_scale made by postgis_load.sh for PostGIS), each request a
# different uniformly random point, box or zoom-14 tile over the city:
#   /health (64 connections): the server's own HTTP ceiling;
#   nearby, limit 10: hutong first pass and again (64 connections), then
#     PostGIS KNN through pgbench (64 clients);
#   items of 1,000 lights in a box (16 connections / clients);
#   zoom-14 tiles (16 connections / clients).
# hutong is started fresh on a copy of city.db, with no warm-up; RSS is
# read after start and at the end. 15 s per figure.
set -uo pipefail
bin=$(realpath "$1"); label=$2; port=18082
work=${WORK:-/tmp/hutong-scale}
here=$(cd "$(dirname "$0")" && pwd)
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
bash "$here/postgis_load.sh" >/dev/null
cd "$work"
rm -f cmp.db cmp.db-wal cmp.db-shm; cp city.db cmp.db
$bin serve --db sqlite://$work/cmp.db --listen 127.0.0.1:$port > compare-$label.log 2>&1 &
pid=$!
until curl -s -o /dev/null localhost:$port/health; do kill -0 $pid 2>/dev/null || { echo "server exited"; exit 1; }; sleep 0.05; done
rss() { echo $(( $(awk '/VmRSS/{print $2}' /proc/$pid/status) / 1024 )); }
rss_start=$(rss)
wrk_rate() { wrk -t2 -c"$1" -d15s ${2:+-s "$here/$2"} "http://127.0.0.1:$port${3:-}" | awk '/Requests\/sec/{print $2}'; }
pg_rate() { pgbench -n -c "$1" -j 2 -T 15 -f "$here/$2" hutong_scale 2>/dev/null | awk '/^tps/{print $3}'; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
health=$(wrk_rate 64 "" /health)
n1=$(wrk_rate 64 nearby.lua); n2=$(wrk_rate 64 nearby.lua); npg=$(pg_rate 64 postgis_nearby.sql)
i1=$(wrk_rate 16 items.lua); i2=$(wrk_rate 16 items.lua); ipg=$(pg_rate 16 postgis_items.sql)
t1=$(wrk_rate 16 tiles.lua); t2=$(wrk_rate 16 tiles.lua); tpg=$(pg_rate 16 postgis_tiles.sql)
rss_end=$(rss)
kill $pid; wait $pid 2>/dev/null
echo "$label: RSS after start $rss_start MB, at the end $rss_end MB; /health $health/s"
echo "  nearby (64): first $n1/s, again $n2/s; PostGIS $npg/s; first/health $(ratio $n1 $health), first/PostGIS $(ratio $n1 $npg)"
echo "  items of 1,000 (16): first $i1/s, again $i2/s; PostGIS $ipg/s; first/PostGIS $(ratio $i1 $ipg)"
echo "  zoom-14 tiles (16): first $t1/s, again $t2/s; PostGIS $tpg/s; first/PostGIS $(ratio $t1 $tpg)"
