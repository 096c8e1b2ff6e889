#!/usr/bin/env bash
# What the suite needs from the system: a PostgreSQL server (the tests start their own
# throwaway cluster with it), Chromium for the browser tests, espeak-ng for the hotline's
# offline Azerbaijani speech, and node/npm to fetch axe-core for the accessibility check.
# Installed when missing and we can (root, apt).
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} for the tests..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        # The tests run their own cluster; the packaged one need not run.
        (command -v pg_lsclusters >/dev/null && pg_lsclusters -h | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true; done) || true
    else
        echo "missing ${missing[*]} and cannot install here (needs root and apt);" \
             "the tests that need them will be skipped outside CI" >&2
    fi
fi

# axe-core (tests/a11y.py) from npm, once, into the git-ignored .cache/: the major is pinned,
# so a new major's new rules never fail the suite unannounced.
cd "$(dirname "$0")/.."
if [ ! -f .cache/axe/node_modules/axe-core/axe.min.js ]; then
    if command -v npm >/dev/null; then
        echo "installing axe-core for the accessibility tests..."
        npm install --no-save --no-audit --no-fund --silent --prefix .cache/axe axe-core@4 >/dev/null \
            || echo "could not install axe-core; the accessibility tests will be skipped outside CI" >&2
    else
        echo "missing npm; the accessibility tests will be skipped outside CI" >&2
    fi
fi
