#!/usr/bin/env bash
# Sync benchmark (issue 3), one command, release build:
#   1. Catch-up: a store agent buffers 100,000 events while its link to the hub is down; the link comes back;
#      time until all of them are durable at the hub (hub high-water mark = the agent's last seq), over
#      loopback TLS through the store's link. Also bytes on the wire per event during the catch-up.
#   2. Hub merge rate: the standard 1M-event workload as signed 1,000-event batches from 50 store agents
#      through the hub's sync endpoint into a fresh hub database (cx-bench hub-merge); in the same run the
#      peer CRDT merge (../shared/bench/peers/crdt_bench.py, pycrdt 0.14.13) as the baseline.
# Each part is repeated REPS times (default 3), interleaved; medians are reported.
# Writes bench/results/sync.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROOT=$(pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-syncbench}
OUT=$ROOT/bench/results/sync.md
CATCHUP=${CATCHUP:-100000}
REPS=${REPS:-3}

python3 -c 'import pycrdt' 2>/dev/null || python3 -m pip install -q pycrdt==0.14.13
ensure_workload "$EVENTS"
build_release
BIN=$(swift build -c release --show-bin-path)
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_for_line() { for _ in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "timeout: $1" >&2; exit 1; }

catchup_run() {
    rm -rf "$WORK/hub" "$WORK/agent"
    : >"$WORK/hub.out"
    : >"$WORK/link.out"
    : >"$WORK/agent.out"
    echo "== catch-up of $CATCHUP events buffered offline"
    "$BIN/cx-hub" init --data-dir "$WORK/hub" >/dev/null
    "$BIN/cx-hub" run --data-dir "$WORK/hub" --listen-port 0 --log-level warning >"$WORK/hub.out" 2>"$WORK/hub.err" &
    PIDS+=($!)
    wait_for_line "$WORK/hub.out" "listening on"
    HUB_PORT=$(grep -o '[0-9]*$' "$WORK/hub.out" | head -1)
    TOKEN_FILE="$WORK/hub/admin.token"
    echo up >"$WORK/link.state"
    python3 scripts/link.py 0 127.0.0.1 "$HUB_PORT" --state-file "$WORK/link.state" >"$WORK/link.out" &
    PIDS+=($!)
    wait_for_line "$WORK/link.out" "[0-9]"
    LINK_PORT=$(head -1 "$WORK/link.out")
    ENROLL=$("$BIN/cx-hub" agents enroll --data-dir "$WORK/hub" --store store-001 --device bench)
    "$BIN/cx-agent" enroll --data-dir "$WORK/agent" --hub "https://127.0.0.1:$LINK_PORT" --token "$ENROLL" \
        --ca "$WORK/hub/tls/ca.pem" >/dev/null
    echo down >"$WORK/link.state"
    # While the link is down the agent backs off (full jitter); a 1 s cap bounds how long it sleeps past the
    # moment the link returns, so the figure measures the transfer rather than a random backoff draw.
    CX_AGENT_BACKOFF_MAX_MS=1000 "$BIN/cx-agent" run --data-dir "$WORK/agent" --listen-port 0 --log-level error >"$WORK/agent.out" 2>"$WORK/agent.err" &
    AGENT=$!
    PIDS+=($AGENT)
    wait_for_line "$WORK/agent.out" "listening on"
    AGENT_PORT=$(grep -o '[0-9]*$' "$WORK/agent.out" | head -1)
    "$BIN/cx-agent" sample --count "$CATCHUP" --store store-001 --seed 11 >"$WORK/offline.jsonl"
    "$BIN/cx-agent" ingest --data-dir "$WORK/agent" --listen-port "$AGENT_PORT" "$WORK/offline.jsonl" | tail -1
    fleet() {
        curl -s --cacert "$WORK/hub/tls/ca.pem" -H "Authorization: Bearer $(cat "$TOKEN_FILE")" \
            "https://127.0.0.1:$HUB_PORT/v1/fleet"
    }
    T0=$(date +%s.%N)
    echo up >"$WORK/link.state"
    while :; do
        HWM=$(fleet | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a[0]["high_water_mark"] if a else 0)')
        [ "$HWM" -ge "$CATCHUP" ] && break
        sleep 0.02
    done
    T1=$(date +%s.%N)
    CATCHUP_S=$(python3 -c "print(round($T1 - $T0, 3))")
    BYTES=$(fleet | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["bytes_received"])')
    BPE=$(python3 -c "print(round($BYTES / $CATCHUP, 1))")
    echo "catch-up: ${CATCHUP_S}s, ${BPE} bytes/event on the wire (frame bytes)"
    cleanup
    PIDS=()
    echo "$CATCHUP_S $BPE" >"$1"
}

for REP in $(seq 1 "$REPS"); do
    echo "== [$REP/$REPS]"
    catchup_run "$WORK/catchup.$REP"
    echo "== [$REP/$REPS] hub merge rate, standard 1M workload"
    "$BIN/cx-bench" hub-merge --events "$EVENTS" --directory "$WORK/merge" | tee "$WORK/merge.$REP.json"
    echo "== [$REP/$REPS] peer: pycrdt LWW map merge"
    python3 "$PEERS/crdt_bench.py" --events "$EVENTS" --libs pycrdt | tee "$WORK/peer.$REP.json"
done
python3 - "$WORK" "$OUT" "$CATCHUP" "$REPS" <<'PY'
import json, platform, subprocess, sys
work, out, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
last_json = lambda path: json.loads([l for l in open(path).read().splitlines() if l.startswith("{")][-1])
runs = []
for r in range(1, reps + 1):
    c, b = open(f"{work}/catchup.{r}").read().split()
    runs.append((float(c), float(b), last_json(f"{work}/merge.{r}.json"), last_json(f"{work}/peer.{r}.json")))
def find(d, key):
    if isinstance(d, dict):
        for k, v in d.items():
            if k == key: return v
            r = find(v, key)
            if r is not None: return r
    if isinstance(d, list):
        for v in d:
            r = find(v, key)
            if r is not None: return r
    return None
mid = lambda xs: sorted(xs)[len(xs) // 2]
catchup_s = mid([r[0] for r in runs])
bpe = mid([r[1] for r in runs])
merge = sorted((r[2] for r in runs), key=lambda m: m["events_per_s"])[len(runs) // 2]
peer = sorted((r[3] for r in runs), key=lambda p: find(p, "updates_merged_per_s"))[len(runs) // 2]
peer_rate = find(peer, "updates_merged_per_s")
each = "; ".join(
    f"catch-up {c} s, merge {m['events_per_s']:,}/s, pycrdt {int(find(p, 'updates_merged_per_s')):,}/s "
    f"({m['events_per_s'] / find(p, 'updates_merged_per_s'):.2f}×)" for c, _, m, p in runs)
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
ratio = merge["events_per_s"] / peer_rate if peer_rate else float("nan")
md = f"""# Sync benchmark (issue 3)

Machine: {cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, {platform.platform()}.
Command: `bench/sync.sh` (release build). Medians of {reps} interleaved repetitions (catch-up, merge, peer);
these machines are shared and noisy.

| figure | value | goal |
|---|---|---|
| catch-up of {n:,} events buffered offline, link restored → all durable at the hub (loopback TLS) | **{catchup_s} s** | ≤ 5 s |
| bytes on the wire per event during catch-up (signed zstd frames, column form) | {bpe} | — |
| agent backoff cap during the outage (`backoff_max_ms`) | 1,000 ms | — |
| hub merge rate, 1M events, 1,000-event signed batches from 50 agents, 4 sending at a time, fsync per (group) commit | **{merge['events_per_s']:,} events/s** | ≥ 100,000 |
| peer: pycrdt 0.14.13 LWW map merge (crdt_bench.py) | {int(peer_rate):,} updates/s | baseline |
| ratio hub / peer | **{ratio:.2f}×** | ≥ 2× |

Each repetition in order: {each}.

Hub merge details (median run): {json.dumps(merge)}

Peer output: {json.dumps(peer)[:1500]}
"""
open(out, "w").write(md)
print(md)
PY
