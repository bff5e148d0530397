#!/usr/bin/env bash
# Part of the scale benchmarks (BENCHMARKS.md, "Every read from memory").
# Loads $WORK/city.db's assets into PostGIS (database hutong_scale on
# $PGHOST, default 127.0.0.1, user postgres): the same ids, kinds,
# attributes (jsonb) and geometries, with a GiST index and a kind index,
# then VACUUM ANALYZE. Does nothing when the database already holds as many
# assets as city.db. Needs PostGIS (scripts/install-bench-deps.sh).
set -euo pipefail
work=${WORK:-/tmp/hutong-scale}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
want=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/city.db').execute('select count(*) from assets').fetchone()[0])")
have=$(psql -d hutong_scale -Atc "select count(*) from assets" 2>/dev/null || echo none)
if [ "$have" = "$want" ]; then echo "PostGIS already holds $want assets"; exit 0; fi
psql -d postgres -qc "DROP DATABASE IF EXISTS hutong_scale" -c "CREATE DATABASE hutong_scale"
psql -d hutong_scale -q <<'SQL'
CREATE EXTENSION postgis;
CREATE UNLOGGED TABLE staging (id bigint, kind text, attributes text, geometry text);
SQL
python3 - "$work/city.db" <<'PY' | psql -d hutong_scale -qc "COPY staging FROM STDIN WITH (FORMAT csv)"
import csv, sqlite3, sys
out = csv.writer(sys.stdout)
for row in sqlite3.connect(sys.argv[1]).execute("SELECT id, kind, attributes, geometry FROM assets ORDER BY id"):
    out.writerow(row)
PY
psql -d hutong_scale -q <<'SQL'
CREATE TABLE assets AS
  SELECT id, kind, attributes::jsonb AS attributes,
         ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4326) AS geom
  FROM staging;
DROP TABLE staging;
ALTER TABLE assets ADD PRIMARY KEY (id);
CREATE INDEX assets_geom ON assets USING gist (geom);
CREATE INDEX assets_kind ON assets (kind);
VACUUM ANALYZE assets;
SQL
echo "PostGIS loaded with $(psql -d hutong_scale -Atc 'select count(*) from assets') assets"
