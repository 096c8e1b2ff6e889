#!/usr/bin/env bash
# What the suite needs from the system: a PostgreSQL server (the tests start their own
# throwaway cluster with it). Installed when missing and we can (root, apt).
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing PostgreSQL for the tests..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        # The tests run their own cluster; the packaged one need not run.
        (command -v pg_lsclusters >/dev/null && pg_lsclusters -h | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done) || true
    else
        echo "PostgreSQL is not installed and cannot be installed here (needs root and apt);" \
             "PostgreSQL tests will be skipped outside CI" >&2
    fi
fi
