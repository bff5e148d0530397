#!/usr/bin/env bash
# Makes a PostgreSQL server with PostGIS ready for the PostgreSQL test run,
# idempotently: installs Debian's postgresql-15-postgis-3 when missing,
# starts the local cluster when it is not running, and waits until it
# accepts connections. Prints the admin URL the tests use as its last line
# (HUTONG_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
url="${HUTONG_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
exec 9>/tmp/hutong-apt.lock
flock 9
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql-15)
[ -e /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
flock -u 9
if ! pg_isready -q -d "$url"; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
        echo "starting PostgreSQL $version" >&2
        $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    done
    for _ in $(seq 1 60); do
        pg_isready -q -d "$url" && break
        sleep 0.5
    done
fi
pg_isready -d "$url" >&2
echo "$url"
