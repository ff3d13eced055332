#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds everything (the process tests run the built
# cx-agent binary), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --build-tests
swift test --skip-build "$@"
