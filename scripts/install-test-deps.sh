#!/usr/bin/env bash
# Installs what the integration tests need beyond Rust, idempotently:
# a Python virtualenv at target/test-venv with the Open311 client
# `georeport` (PyPI). Prints the venv's python as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/test-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import georeport, xmltodict' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'georeport==0.3.1' 'xmltodict>=0.13' >&2
fi
echo "$PWD/$venv/bin/python"
