#!/usr/bin/env bash
# All tests, on both storage backends: the whole suite (unit, integration,
# CLI, doc-tests) on SQLite, then the integration suite again on
# PostgreSQL+PostGIS, which scripts/install-postgres.sh installs and starts
# when needed. Each test gets a fresh PostgreSQL database, copied from a
# template made once per run; the databases of earlier runs are dropped
# first.
#
# `cargo test` alone installs nothing: tests that need GDAL and the Python
# clients, or PostgreSQL, are #[ignore]d there (and show as ignored). This
# script installs what they need and runs them with --include-ignored;
# the PostgreSQL-only tests (tests/api/instances.rs) are left out of the
# SQLite half and run in the PostgreSQL half. Extra arguments go to both
# `cargo test` runs (before the test binary's own arguments).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh >/dev/null
admin="$(bash scripts/install-postgres.sh | tail -n 1)"

echo "== tests on SQLite" >&2
cargo test --locked "$@" -- --include-ignored --skip instances::

drop_test_databases() {
    psql -X -q -d "$admin" -At -c \
        "SELECT datname FROM pg_database WHERE datname LIKE 'hutong\_t%'" |
        while read -r db; do
            psql -X -q -d "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
        done
}
drop_test_databases
echo "== integration tests on PostgreSQL+PostGIS ($admin)" >&2
HUTONG_TEST_POSTGRES="$admin" cargo test --locked --test api "$@" -- --include-ignored
drop_test_databases
