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

# OsmoCBC 0.3.0, the real Cell Broadcast Centre the cell broadcast tests start (tests/cbc/),
# built once from the vendored source tarball into the git-ignored .cache/osmo-cbc/, and again
# only when the tarball is newer than the binary. The CI clone has shared/ beside the repository.
cbc_tarball=../shared/vendor/osmo-cbc-0.3.0.tar.gz
cbc_dir=.cache/osmo-cbc
cbc_binary=$cbc_dir/osmo-cbc-0.3.0/src/osmo-cbc
cbc_deps=(build-essential autoconf automake libtool pkg-config libosmocore-dev libosmo-netif-dev
          libulfius-dev libjansson-dev liborcania-dev libtalloc-dev)
if [ ! -f "$cbc_tarball" ]; then
    echo "missing $cbc_tarball; the OsmoCBC tests will be skipped outside CI" >&2
elif [ ! -x "$cbc_binary" ] || [ "$cbc_tarball" -nt "$cbc_binary" ]; then
    cbc_missing=()
    for package in "${cbc_deps[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        [ "$status" = "install ok installed" ] || cbc_missing+=("$package")
    done
    if [ ${#cbc_missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${cbc_missing[*]} to build OsmoCBC..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${cbc_missing[@]}" >/dev/null
    fi
    echo "building OsmoCBC for the cell broadcast tests (once)..."
    cbc_log=$PWD/$cbc_dir/build.log
    rm -rf "$cbc_dir" && mkdir -p "$cbc_dir"
    if (tar -xzf "$cbc_tarball" -C "$cbc_dir" && cd "$cbc_dir/osmo-cbc-0.3.0" && echo 0.3.0 > .tarball-version \
        && autoreconf -fi && ./configure && make -j"$(nproc)") >"$cbc_log" 2>&1; then
        touch "$cbc_binary"
    else
        echo "could not build OsmoCBC (needs ${cbc_deps[*]}); see $cbc_log." \
             "The OsmoCBC tests will be skipped outside CI" >&2
    fi
fi
