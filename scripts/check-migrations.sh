#!/usr/bin/env bash
# Fails when a migration that has landed changes. A database migrated
# before the change would fail sqlx's checksum at start (or, worse, differ
# silently), so a landed migration is never edited: add a new one.
#
# migrations/landed.sha256 lists every migration with its SHA-256. A new
# migration is added to the list in the commit that adds it
# (`sha256sum migrations/*/*.sql > migrations/landed.sha256`); an edited,
# renamed or removed one fails here. The list itself may only grow: each
# version of it in git history must keep every line of the one before.
set -euo pipefail
cd "$(dirname "$0")/.."
list=migrations/landed.sha256
status=0

# Every listed migration is unchanged.
if ! sha256sum --quiet --check "$list"; then
    echo "a landed migration changed (see above); add a new migration instead" >&2
    status=1
fi

# Every migration is listed.
for file in migrations/*/*.sql; do
    if ! grep -q "  $file\$" "$list"; then
        echo "$file is not in $list; list it in the commit that adds it:" >&2
        echo "    sha256sum $file >> $list" >&2
        status=1
    fi
done

# The list only grows (where history is at hand).
if git rev-parse --git-dir >/dev/null 2>&1 && [ "$(git rev-parse --is-shallow-repository)" = false ]; then
    previous=""
    for commit in $(git log --reverse --format=%H -- "$list"); do
        current="$(git show "$commit:$list" 2>/dev/null || true)"
        if [ -n "$previous" ]; then
            missing="$(comm -23 <(sort <<<"$previous") <(sort <<<"$current"))"
            if [ -n "$missing" ]; then
                echo "commit $commit changed or dropped landed lines of $list:" >&2
                echo "$missing" >&2
                status=1
            fi
        fi
        previous="$current"
    done
fi

if [ "$status" = 0 ]; then
    echo "migrations: $(wc -l <"$list") landed, none changed"
fi
exit "$status"
