#!/usr/bin/env bash
# Regenerates Sources/CXProtocol/Generated/cxsync.pb.swift from protocol/cxsync.proto with Debian's protoc
# and the protoc-gen-swift plugin of the swift-protobuf version in Package.swift.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
swift build --product protoc-gen-swift
plugin="$(swift build --show-bin-path)/protoc-gen-swift"
mkdir -p Sources/CXProtocol/Generated
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
    --swift_out=Sources/CXProtocol/Generated -I protocol protocol/cxsync.proto
echo "generated Sources/CXProtocol/Generated/cxsync.pb.swift"
