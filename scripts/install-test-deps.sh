#!/usr/bin/env bash
# Installs what the integration tests need beyond Rust, idempotently:
# GDAL's command-line tools (Debian's gdal-bin: the OGR OAPIF driver is an
# OGC API client) and a Python virtualenv at target/test-venv with the
# Open311 client `georeport`, the OGC API client OWSLib and the
# OpenAPI fuzzer schemathesis (PyPI).
# Prints the venv's python as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v ogr2ogr >/dev/null 2>&1; then
    # One installer at a time: tests run in parallel.
    exec 9>/tmp/hutong-apt.lock
    flock 9
    if ! command -v ogr2ogr >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gdal-bin >&2
    fi
    flock -u 9
fi
venv=target/test-venv
exec 8>/tmp/hutong-venv.lock
flock 8
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import georeport, xmltodict, owslib, schemathesis' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'georeport==0.3.1' 'xmltodict>=0.13' \
        'OWSLib==0.32.1' 'schemathesis==4.32.5' >&2
fi
flock -u 8
echo "$PWD/$venv/bin/python"
