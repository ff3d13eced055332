#!/usr/bin/env bash
# Where a live ingest leaves the CPUs idle and what the writer side waits for, one command, release build: a fresh
# cx-agent takes EVENTS events over HTTP (8 producers x 100 events, as bench/run.sh), plain and enriched alternating
# (ABBA), REPS times each, under `perf sched record` (every context switch of the host). Per run, one JSON line
# (bench/sched_idle.py): the idle share of the CPUs, the share of the time in which all were idle at once, what ran
# beside the idle CPUs, and per kind of the agent's threads the CPU time, the time waiting for the disk (us per event)
# and the busy share (on CPU or waiting for the disk, summed over the kind's threads). Then the medians per mode.
#   bench/sched-idle.sh [EVENTS] [REPS]     (default 300,000 events of the standard workload, 2 repetitions)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
N=${1:-300000}
REPS=${2:-2}
FULL=${FULL_EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-sched-idle}
ensure_perf
build_release cx-agent cx-bench
BIN=$(swift build -c release --show-bin-path)
fresh_events "$FULL" "$N" "$WORK"

run() {  # run MODE: one ingest under perf sched; prints one JSON line
    start_agent "$BIN" "$WORK" "$1"
    local agent=$AGENT port=$PORT recorder loadgen
    ls /proc/$agent/task >"$WORK/agent.tids"
    perf sched record -o "$WORK/sched.data" >/dev/null 2>&1 &
    recorder=$!
    sleep 0.5
    "$BIN/cx-bench" ingest --url "http://127.0.0.1:$port" --events "$WORK/events.jsonl" --producers 8 \
        --per-request 100 >"$WORK/ingest.json" &
    loadgen=$!
    : >"$WORK/loadgen.tids"
    # The load generator's threads, read while it runs (they end with it).
    while kill -0 $loadgen 2>/dev/null; do
        ls /proc/$loadgen/task >>"$WORK/loadgen.tids" 2>/dev/null || true
        sleep 0.2
    done
    wait $loadgen
    ls /proc/$agent/task >>"$WORK/agent.tids"
    kill -INT $recorder
    wait $recorder || true
    kill -TERM $agent
    wait $agent || true
    perf script -i "$WORK/sched.data" -F cpu,time,event,trace 2>/dev/null | grep sched_switch >"$WORK/switches.txt"
    python3 - "$1" "$WORK" "$N" <<'PY'
import json, sys
from sched_idle import analyse
mode, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tids = lambda p: {int(x) for x in open(p).read().split()}
ingest = json.load(open(f"{work}/ingest.json"))
print(json.dumps({"mode": mode, "events_per_s": ingest["events_per_s"],
                  **analyse(f"{work}/switches.txt", tids(f"{work}/agent.tids"), tids(f"{work}/loadgen.tids"), n)}))
PY
}

run_plain() { run plain; }
run_enriched() { run enriched; }
for i in $(seq 1 "$REPS"); do abba "$i" run_plain run_enriched; done | python3 -c '
import json, statistics as st, sys
rows = []
for line in sys.stdin:
    print(line.strip())
    rows.append(json.loads(line))
def medians(r):
    out = {}
    for k, v in r[0].items():
        if isinstance(v, dict):
            fields = sorted({f for x in r for f in x[k]})
            out[k] = {f: round(st.median(x[k].get(f, 0) for x in r), 3) for f in fields}
        elif k != "mode":
            out[k] = round(st.median(x[k] for x in r), 3)
    return out
for mode in ("plain", "enriched"):
    print(mode, "medians:", json.dumps(medians([x for x in rows if x["mode"] == mode])))
'
