#!/usr/bin/env bash
# Installs what the comparative benchmarks need, idempotently: wrk (HTTP
# load), and PostGIS for the local PostgreSQL 15 (pgbench comes with it).
set -euo pipefail
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -e /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
