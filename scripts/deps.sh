#!/usr/bin/env bash
# Installs the system libraries cxsync links against, when they are missing (Debian/Ubuntu).
set -euo pipefail
need=()
# curl and python3: the demo (scripts/demo.sh) posts events and links customers with them.
for pkg in libsqlite3-dev libzstd-dev libssl-dev pkg-config curl python3; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
