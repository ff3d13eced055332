#!/usr/bin/env bash
# The main job on embedded defaults: start a cx-agent on loopback, ingest realistic sample events through
# its API (with a duplicate re-post and a bad line), and print the buffer's summary. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --product cx-agent
BIN=$(swift build --show-bin-path)/cx-agent
WORK=$(mktemp -d /tmp/cxsync-demo.XXXXXX)
AGENT=""
cleanup() { [ -n "$AGENT" ] && kill -TERM "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN" run --data-dir "$WORK/agent" --store store-001 --listen-port 0 --log-level warning >"$WORK/out" 2>"$WORK/err" &
AGENT=$!
for _ in $(seq 1 200); do grep -q "listening on" "$WORK/out" && break; sleep 0.05; done
PORT=$(grep -o '[0-9]*$' "$WORK/out" | head -1)
echo "cx-agent (pid $AGENT) listening on 127.0.0.1:$PORT, data in $WORK/agent"

"$BIN" sample --count 5000 --store store-001 --seed 7 >"$WORK/events.jsonl"
echo; echo "== ingest 5,000 sample events through the running agent"
"$BIN" ingest --data-dir "$WORK/agent" --listen-port "$PORT" "$WORK/events.jsonl"
echo; echo "== re-post the first 100 (producer retry): duplicates, nothing stored twice"
head -100 "$WORK/events.jsonl" | "$BIN" ingest --data-dir "$WORK/agent" --listen-port "$PORT" -
echo; echo "== one event for another store and one broken line: rejected with the reason"
printf '%s\n%s\n' "$(tail -1 "$WORK/events.jsonl" | sed 's/store-001/store-999/; s/"event_id":"[^"]*"/"event_id":"00000000-0000-4000-8000-000000000001"/')" '{"channel": "fax"' \
    | "$BIN" ingest --data-dir "$WORK/agent" --listen-port "$PORT" - || true
echo; echo "== buffer summary"
curl -s "http://127.0.0.1:$PORT/v1/summary"
echo
