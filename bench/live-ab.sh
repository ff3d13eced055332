#!/usr/bin/env bash
# Live ingest A/B, one command: two builds' cx-agent (A = before a change, B = after; each a directory holding
# cx-agent, cx-bench and cxsync_CXInsight.resources) take the same EVENTS events over HTTP (8 producers x 100 events,
# as bench/run.sh), alternating, PAIRS pairs, in MODE enriched or plain. Per run: the rate, the host's idle share,
# the agent's CPU per event from /proc, whole and split by kind of thread (the cooperative pool that parses and
# enriches, libdispatch's threads that write and checkpoint, the event loops), its disk bytes written per event, and
# from `perf record -e cpu-clock` the samples per event in the malloc family, reference counting, the
# EventEnricher's frames, the writer's writeGroup and RecentEventIDs. Prints each run, the medians per side and the
# median of the pair differences. CPU and samples move with contention: compare pairs (ABBA order) rather than single
# runs. Disk bytes written per event (from /proc) hardly move, nor does the enricher's share of the agent's samples
# (a build against itself, 10 pairs: within 0.9 points per pair, median +0.15), which shows an enrichment change where
# the rates and CPU times drown it. PERF=0 runs the agent without perf, as bench/run.sh does (no sample columns): the
# profiler's stack walks add cache and TLB pressure, and a change that relieves such pressure can look like a gain
# under it alone (the recent-ids window on huge pages: enriched +4,895 events/s and -0.76 us/event of agent CPU
# profiled, 8 pairs; without perf, three runs of 8 pairs from -3,954 to +2,210 events/s).
#   bench/live-ab.sh /tmp/before .build/release 5 300000 enriched
set -euo pipefail
source "$(dirname "$0")/lib.sh"
A=${1:?usage: bench/live-ab.sh DIR_A DIR_B [PAIRS] [EVENTS] [MODE]}
B=${2:?usage: bench/live-ab.sh DIR_A DIR_B [PAIRS] [EVENTS] [MODE]}
PAIRS=${3:-5}
N=${4:-300000}
MODE=${5:-enriched}
PERF=${PERF:-1}
FULL=${FULL_EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-live-ab}
if [ "$PERF" = 1 ]; then ensure_perf; fi
for dir in "$A" "$B"; do
    for f in cx-agent cx-bench cxsync_CXInsight.resources; do
        [ -e "$dir/$f" ] || { echo "no $f in $dir" >&2; exit 2; }
    done
done
fresh_events "$FULL" "$N" "$WORK"

run() {  # run SIDE DIR: one ingest (under perf unless PERF=0); prints one JSON line
    # Profiled, the agent is started under perf, so that every thread it ever has is sampled
    # (bench/profile-ingest.sh); only the samples of the ingest's window count.
    local profiler=()
    if [ "$PERF" = 1 ]; then
        profiler=(perf record -e cpu-clock -F 2000 -g -k CLOCK_MONOTONIC -o "$WORK/perf.data" --)
    fi
    start_agent "$2" "$WORK" "$MODE" "${profiler[@]}"
    local agent=$AGENT launcher=$LAUNCHER port=$PORT t0 t1 w0 w1
    python3 -c 'import time; print(time.monotonic())' >"$WORK/window"
    t0=$(cpu_ticks $agent)
    thread_times $agent >"$WORK/threads0"
    w0=$(written $agent)
    "$2/cx-bench" ingest --url "http://127.0.0.1:$port" --events "$WORK/events.jsonl" --producers 8 --per-request 100 \
        >"$WORK/ingest.json"
    t1=$(cpu_ticks $agent)
    thread_times $agent >"$WORK/threads1"
    w1=$(written $agent)
    python3 -c 'import time; print(time.monotonic())' >>"$WORK/window"
    kill -TERM $agent
    wait $launcher || true
    if [ "$PERF" = 1 ]; then perf script -i "$WORK/perf.data" 2>/dev/null >"$WORK/perf.txt"; fi
    python3 - "$1" "$WORK" "$N" "$((t1 - t0))" "$(getconf CLK_TCK)" "$((w1 - w0))" "$PERF" <<'PY'
import collections, json, sys
from perf_samples import samples
from thread_times import by_kind
side, work, n, ticks, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
written = int(sys.argv[6])
profiled = sys.argv[7] == "1"
window = [float(x) for x in open(f"{work}/window").read().split()]
c = collections.Counter()
for frames, _ in samples(f"{work}/perf.txt", window) if profiled else []:
    c["sampled"] += 1
    leaf = frames[0]
    stack = " ".join(frames)
    if any(k in leaf for k in ("malloc", "_int_free", "cfree", "unlink_chunk", "__libc_free")): c["malloc"] += 1
    if any(k in leaf for k in ("swift_retain", "swift_release", "RefCounts")): c["refcount"] += 1
    # The enricher by its type's name: a build may inline `enrichPacked` into its caller, and a sample in the stages
    # it calls then names no `enrichPacked` frame.
    for k in ("EventEnricher", "writeGroup", "RecentEventIDs"):
        if k in stack: c[k] += 1
d = json.load(open(f"{work}/ingest.json"))
us = lambda k: round(c[k] * 500 / n, 3)  # 2,000 samples/s: 500 us each
# Per kind of thread (bench/thread_times.py), CPU us per event: which side of the pipeline a change moved.
kinds = by_kind(f"{work}/threads0", f"{work}/threads1")
print(json.dumps({"side": side, "events_per_s": d["events_per_s"], "idle": d["host_idle_share"],
                  "cpu_us": round(ticks / hz * 1e6 / n, 2),
                  **{f"{k}_us": round(kinds.get(k, (0, 0))[0] / 1e3 / n, 2)
                     for k in ("cooperative", "overcommit", "nio")},
                  "disk_bytes": round(written / n, 1),
                  **({k: us(k) for k in ("sampled", "malloc", "refcount", "EventEnricher", "writeGroup",
                                         "RecentEventIDs")} if profiled else {})}))
PY
}

run_a() { run A "$A"; }
run_b() { run B "$B"; }
for i in $(seq 1 "$PAIRS"); do abba "$i" run_a run_b; done | PERF=$PERF python3 -c '
import json, os, statistics as st, sys
rows = []
for line in sys.stdin:
    print(line.strip())
    rows.append(json.loads(line))
keys = [k for k in rows[0] if k != "side"]
for side in ("A", "B"):
    r = [x for x in rows if x["side"] == side]
    print(side, "medians:", json.dumps({k: round(st.median(x[k] for x in r), 3) for k in keys}))
a = [x for x in rows if x["side"] == "A"]
b = [x for x in rows if x["side"] == "B"]
for k in ("events_per_s", "cpu_us", "cooperative_us", "overcommit_us", "nio_us", "disk_bytes"):
    d = [y[k] - x[k] for x, y in zip(a, b)]
    print(f"B - A {k}: median of pair differences {st.median(d):+.2f}; B higher in {sum(v > 0 for v in d)} of {len(d)}")
if os.environ["PERF"] == "1":
    share = lambda x: x["EventEnricher"] / x["sampled"]
    d = [share(y) - share(x) for x, y in zip(a, b)]
    print(f"B - A EventEnricher share of the samples: median of pair differences {st.median(d) * 100:+.2f} points; "
          f"B higher in {sum(v > 0 for v in d)} of {len(d)}")
'
