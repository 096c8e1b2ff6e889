#!/usr/bin/env bash
# Create the virtualenv. Debian's python3 ships without venv/ensurepip until python3-venv
# is installed, so install it when we can (root, apt) rather than fail on a fresh machine.
set -euo pipefail
venv="${1:-.venv}"
py="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] && exit 0
if ! "$py" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${ver}-venv" || \
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        "$py" -m venv "$venv"
    else
        echo "cannot create a virtualenv: install python3-venv (apt-get install python3-venv)" >&2
        exit 1
    fi
fi
