#!/usr/bin/env bash
# Group commit under ingest, one command, release build: for each commit delay (DELAYS, microseconds), a fresh
# cx-agent takes N events of the standard workload (8 producers x 100 events, ack after fsync), enriched and then
# plain; prints events/s, p99 ack, requests per commit from /v1/status (commits_since_start,
# committed_requests_since_start) and the agent's CPU time per event (user + system, from /proc), which says what
# enrichment costs the agent itself (the benchmark client shares the cores). Runs interleave so that each delay
# sees the same state of a noisy host. DELAYS=3000 (the default delay alone) compares builds by CPU per event.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-bench-commit-delay}
N=${N:-300000}
DELAYS=${DELAYS:-"0 3000"}
REPS=${REPS:-2}

[ -f "$EVENTS" ] || python3 "$PEERS/gen_events.py" --out "$EVENTS"
swift build -c release --product cx-agent && swift build -c release --product cx-bench
BIN=$(swift build -c release --show-bin-path)

run() {  # run DELAY MODE
    rm -rf "$WORK" && mkdir -p "$WORK"
    CX_AGENT_COMMIT_DELAY_US=$1 CX_AGENT_ENRICHMENT_ENABLED=$([ "$2" = plain ] && echo false || echo true) \
        "$BIN/cx-agent" run --data-dir "$WORK/agent" --listen-port 0 --log-level warning >"$WORK/out" 2>"$WORK/err" &
    local agent=$!
    for _ in $(seq 1 600); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.05; done
    local port
    port=$(grep -o '[0-9]*$' "$WORK/out" | head -1)
    local t0 t1
    t0=$(awk '{print $14 + $15}' /proc/$agent/stat)
    "$BIN/cx-bench" ingest --url "http://127.0.0.1:$port" --events "$EVENTS" --producers 8 --per-request 100 \
        --limit "$N" >"$WORK/ingest.json"
    t1=$(awk '{print $14 + $15}' /proc/$agent/stat)
    curl -s "http://127.0.0.1:$port/v1/status" >"$WORK/status.json"
    kill -TERM $agent; wait $agent || true
    python3 - "$WORK" "$1" "$2" "$((t1 - t0))" "$(getconf CLK_TCK)" <<'PY'
import json, os, sys
work, delay, mode, ticks, hz = sys.argv[1:]
i = json.load(open(os.path.join(work, "ingest.json")))
s = json.load(open(os.path.join(work, "status.json")))
print(json.dumps({"commit_delay_us": int(delay), "mode": mode, "events_per_s": i["events_per_s"],
                  "ack_latency_ms_p99": i["ack_latency_ms_p99"], "commits": s["commits_since_start"],
                  "requests_per_commit": round(s["committed_requests_since_start"] / s["commits_since_start"], 2),
                  "agent_cpu_us_per_event": round(int(ticks) / int(hz) * 1e6 / i["events"], 2)}))
PY
}

for _ in $(seq 1 "$REPS"); do
    for d in $DELAYS; do
        run "$d" enriched
        run "$d" plain
    done
done
rm -rf "$WORK"
