#!/usr/bin/env bash
# All tests, on both storage backends: the whole suite (unit, integration,
# CLI, doc-tests) on SQLite, then the integration suite again on
# PostgreSQL+PostGIS, which scripts/install-postgres.sh installs and starts
# when needed. Each test gets a fresh PostgreSQL database, copied from a
# template made once per run; the databases of earlier runs are dropped
# first. Extra arguments go to both `cargo test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== tests on SQLite" >&2
cargo test --locked "$@"

admin="$(bash scripts/install-postgres.sh | tail -n 1)"
drop_test_databases() {
    psql -X -q -d "$admin" -At -c \
        "SELECT datname FROM pg_database WHERE datname LIKE 'hutong\_t%'" |
        while read -r db; do
            psql -X -q -d "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
        done
}
drop_test_databases
echo "== integration tests on PostgreSQL+PostGIS ($admin)" >&2
HUTONG_TEST_POSTGRES="$admin" cargo test --locked --test api "$@"
drop_test_databases
