#!/usr/bin/env bash
# Rewrites protocol/vectors/*.bin and *.json from the deterministic fixtures in Tests/CXProtocolTests.
# Keep dictionary-v1.zdict: delete it too only if you mean to retrain the vectors' dictionary.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
CX_REGENERATE_VECTORS=1 swift test --skip-build --filter GoldenVectorTests
