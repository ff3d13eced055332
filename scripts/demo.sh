#!/usr/bin/env bash
# The main job on embedded defaults: a hub and three store agents on loopback with TLS and enrollment,
# realistic traffic, one store cut off from the hub for a while (it keeps ingesting offline), the link
# restored, convergence awaited, and the unified view printed. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
swift build --product cx-hub >/dev/null
swift build --product cx-agent >/dev/null
swift build --product cx >/dev/null
BIN=$(swift build --show-bin-path)
WORK=$(mktemp -d /tmp/cxsync-demo.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
START=$(date +%s)
say() { printf '\n== %s (t+%ss)\n' "$1" "$(( $(date +%s) - START ))"; }
wait_for_line() { # file pattern
    for _ in $(seq 1 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "timed out waiting for '$2' in $1" >&2; cat "${1%.out}.err" >&2 || true; exit 1
}

say "hub: init (database, private CA + server certificate, operator token) and run on HTTPS"
"$BIN/cx-hub" init --data-dir "$WORK/hub" >/dev/null
# A short staleness threshold so that the cut-off store shows up as stale within the demo's few seconds.
CX_HUB_STALE_AFTER_SECONDS=4 "$BIN/cx-hub" run --data-dir "$WORK/hub" --listen-port 0 --log-level warning >"$WORK/hub.out" 2>"$WORK/hub.err" &
PIDS+=($!)
wait_for_line "$WORK/hub.out" "listening on"
HUB_PORT=$(grep -o '[0-9]*$' "$WORK/hub.out" | head -1)
export CX_HUB_URL="https://127.0.0.1:$HUB_PORT" CX_TOKEN="$(cat "$WORK/hub/admin.token")" CX_CA_FILE="$WORK/hub/tls/ca.pem"
export CX_CONFIG="$WORK/cx-config.json"
echo "hub at $CX_HUB_URL"

STORES=(store-001 store-002 store-003)
declare -A AGENT_PORT
for s in "${STORES[@]}"; do
    # Each store reaches the hub through its own WAN link, which the demo can cut.
    echo up >"$WORK/$s.link"
    python3 scripts/link.py 0 127.0.0.1 "$HUB_PORT" --state-file "$WORK/$s.link" >"$WORK/$s.link.out" 2>/dev/null &
    PIDS+=($!)
    wait_for_line "$WORK/$s.link.out" "[0-9]"
    LINK_PORT=$(head -1 "$WORK/$s.link.out")
    TOKEN=$("$BIN/cx-hub" agents enroll --data-dir "$WORK/hub" --store "$s" --device kiosk-1)
    "$BIN/cx-agent" enroll --data-dir "$WORK/$s" --hub "https://127.0.0.1:$LINK_PORT" --token "$TOKEN" \
        --ca "$WORK/hub/tls/ca.pem" >/dev/null
    CX_AGENT_SYNC_INTERVAL_MS=200 CX_AGENT_POLL_INTERVAL_MS=500 \
        "$BIN/cx-agent" run --data-dir "$WORK/$s" --listen-port 0 --log-level error >"$WORK/$s.out" 2>"$WORK/$s.err" &
    PIDS+=($!)
    wait_for_line "$WORK/$s.out" "listening on"
    AGENT_PORT[$s]=$(grep -o '[0-9]*$' "$WORK/$s.out" | head -1)
    echo "$s: agent enrolled, local API on 127.0.0.1:${AGENT_PORT[$s]}, hub link via 127.0.0.1:$LINK_PORT"
done

ingest() { # store count seed
    "$BIN/cx-agent" sample --count "$2" --store "$1" --seed "$3" >"$WORK/$1.$3.jsonl"
    "$BIN/cx-agent" ingest --data-dir "$WORK/$1" --listen-port "${AGENT_PORT[$1]}" "$WORK/$1.$3.jsonl" | tail -1
}

say "traffic: 4,000 events per store through each agent's local API"
SEED=0
for s in "${STORES[@]}"; do SEED=$((SEED + 1)); ingest "$s" 4000 "$SEED"; done
sleep 2

say "outage: store-002 loses its link to the hub and keeps ingesting offline"
echo down >"$WORK/store-002.link"
for s in "${STORES[@]}"; do SEED=$((SEED + 1)); ingest "$s" 3000 "$SEED"; done
sleep 5
"$BIN/cx" fleet
echo
echo "store-002's own view while offline (GET /v1/sync on its local API):"
curl -s "http://127.0.0.1:${AGENT_PORT[store-002]}/v1/sync" | python3 -c '
import json, sys
s = json.load(sys.stdin)["sync"]
print("  state=%s unsynced=%s synced_through=%s last_seq=%s" % (s["state"], s["unsynced"], s["synced_through"], s["last_seq"]))
print("  last_error=%s" % s.get("last_error"))'


say "link restored: store-002 catches up"
echo up >"$WORK/store-002.link"
EXPECTED=21000
for _ in $(seq 1 600); do
    TOTAL=$("$BIN/cx" events --all --json | python3 -c 'import json,sys; print(sum(r["events"] for r in json.load(sys.stdin)))')
    [ "$TOTAL" -ge "$EXPECTED" ] && break
    sleep 0.1
done
echo "hub holds $TOTAL of $EXPECTED acknowledged events"
[ "$TOTAL" -eq "$EXPECTED" ] || { echo "did not converge" >&2; exit 1; }

say "converged: fleet"
"$BIN/cx" fleet
say "events by store and channel"
"$BIN/cx" events --by store --by channel
say "alerts raised at the stores (offline too), as the hub holds them"
"$BIN/cx" alerts --store store-002 | head -8
ALERT=$("$BIN/cx" alerts --store store-002 --status open --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["alert_id"])')
say "a CX lead acknowledges $ALERT at the hub; the store sees it on its next sync"
"$BIN/cx" alerts ack "$ALERT" --note "regional lead is calling the store" >/dev/null
for _ in $(seq 1 100); do
    STATUS=$(curl -s "http://127.0.0.1:${AGENT_PORT[store-002]}/v1/alerts" | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin) if x["alert_id"] == sys.argv[1]]
print(a[0]["status"] + " (note: " + str(a[0].get("note")) + ")" if a else "missing")' "$ALERT")
    case "$STATUS" in acknowledged*) break ;; esac
    sleep 0.1
done
echo "store-002's local API now shows $ALERT as: $STATUS"
say "done in $(( $(date +%s) - START ))s"
