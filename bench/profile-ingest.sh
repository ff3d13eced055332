#!/usr/bin/env bash
# Where enriched ingest spends its extra CPU (issue 4's 25% goal), one command, release build:
#   1. A real cx-agent, plain (enrichment_enabled: false) then enriched, takes EVENTS events over HTTP
#      (8 producers x 100 events, as bench/run.sh); its CPU time comes from /proc, its samples from
#      `perf record -e cpu-clock` (hardware counters are not available on these hosts), which starts the agent and
#      so samples every thread it ever has; only the samples inside the ingest's window count, and "sampled" should
#      match "cpu" within a few percent. The host's state moves every figure (CPU time too, under contention):
#      compare plain and enriched of one run, and repeat.
#   2. The samples of each run are summed per part (enrichment, payload encoding, writer, commit, parser, HTTP,
#      syscalls by name, allocation, reference counting) and printed as us/event side by side, then by the library
#      the sample's leaf is in (Debian's SQLite has no frame pointers: its samples name no caller, so the parts
#      above miss them, and the library rows are where SQLite's share shows).
#   3. `cx-bench enrich-path --no-writer` on one pinned core, profiled the same way: the shares of
#      EventEnricher.enrichPacked's callees and of InsightEngine.remember's.
# Usage: bench/profile-ingest.sh [EVENTS] (default 200,000 events of the standard workload)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
N=${1:-200000}
FULL=${FULL_EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-profile}
ensure_perf
build_release cx-agent cx-bench
BIN=$(swift build -c release --show-bin-path)
fresh_events "$FULL" "$N" "$WORK"
TICK_HZ=$(getconf CLK_TCK)

live() {  # live MODE: one ingest, MODE plain or enriched
    # The agent runs under perf from its start, so that every thread it ever has is sampled (attached to a running
    # agent, perf missed the threads created after it, a fifth of plain ingest's CPU); only the samples inside the
    # ingest's window on the monotonic clock count.
    start_agent "$BIN" "$WORK" "$1" perf record -e cpu-clock -F 2000 -g -k CLOCK_MONOTONIC -o "$WORK/$1.data" --
    local agent=$AGENT launcher=$LAUNCHER port=$PORT
    local t0
    t0=$(cpu_ticks $agent)
    python3 -c 'import time; print(time.monotonic())' >"$WORK/$1.window"
    "$BIN/cx-bench" ingest --url "http://127.0.0.1:$port" --events "$WORK/events.jsonl" --producers 8 --per-request 100 \
        | tee "$WORK/$1.json"
    python3 -c 'import time; print(time.monotonic())' >>"$WORK/$1.window"
    echo "$(( $(cpu_ticks $agent) - t0 )) $TICK_HZ" >"$WORK/$1.cpu"
    kill -TERM $agent
    wait $launcher || true
    perf script -i "$WORK/$1.data" 2>/dev/null >"$WORK/$1.txt"
}

live plain
live enriched
taskset -c 1 perf record -e cpu-clock -F 4000 -g -o "$WORK/path.data" \
    "$BIN/cx-bench" enrich-path --events "$WORK/events.jsonl" --limit "$N" --reps 3 --no-writer >/dev/null 2>&1
perf script -i "$WORK/path.data" 2>/dev/null >"$WORK/path.txt"

python3 - "$WORK" "$N" <<'PY'
import collections, json, os, subprocess, sys
from perf_samples import samples
work, n = sys.argv[1], int(sys.argv[2])
parts = ["enrichPacked", "EventPayloadEncoder", "writeGroup", "insertAlerts", "commit", "IngestParser", "EventScanner",
         "RecentEventIDs", "Hummingbird", "NIOPosix", "malloc", "free", "swift_retain", "swift_release"]
rows = {}
for mode in ("plain", "enriched"):
    ticks, hz = map(int, open(os.path.join(work, f"{mode}.cpu")).read().split())
    per = collections.Counter(); sys_ = collections.Counter(); total = 0
    window = [float(x) for x in open(os.path.join(work, f"{mode}.window")).read().split()]
    libraries = collections.Counter()
    for st, library in samples(os.path.join(work, f"{mode}.txt"), window):
        total += 1
        libraries[library] += 1
        joined = " ".join(st)
        for p in parts:
            if p in joined: per[p] += 1
        if "do_syscall_64" in st:
            i = st.index("do_syscall_64")
            sys_["syscall " + (st[i - 1] if i > 0 else "?")] += 1
    us = lambda c: c * 500 / n  # 2,000 samples/s: 500 us each
    # Every syscall and library is kept: the table shows those in either mode's top few, each with both modes' figures.
    rows[mode] = {"cpu_us_per_event": ticks / hz * 1e6 / n, "sampled_us_per_event": us(total),
                  **{p: us(per[p]) for p in parts}, **{k: us(v) for k, v in sys_.items()}}
    for lib, count in libraries.items():
        rows[mode]["library " + lib] = us(count)
    rows[mode]["events_per_s"] = json.load(open(os.path.join(work, f"{mode}.json")))["events_per_s"]
print(f"live ingest of {n:,} events, us/event (samples of 500 us; a part counts every sample it is on the stack of)")
print(f"{'part':40s} {'plain':>8s} {'enriched':>9s} {'extra':>8s}")
keys = ["cpu_us_per_event", "sampled_us_per_event"] + parts
def top(prefix, count):
    return sorted({k for r in rows.values()
                   for k in sorted((k for k in r if k.startswith(prefix)), key=lambda k: -r[k])[:count]})
keys += top("syscall ", 8) + top("library ", 6)
for k in keys:
    p, e = rows["plain"].get(k, 0), rows["enriched"].get(k, 0)
    print(f"{k:40s} {p:8.2f} {e:9.2f} {e - p:+8.2f}")
ep, pp = rows["enriched"]["events_per_s"], rows["plain"]["events_per_s"]
print(f"rates: plain {pp:,} enriched {ep:,} events/s; cost {100 * (1 - ep / pp):.0f}%")
def shares(root):
    c = collections.Counter(); total = 0
    for st, _ in samples(os.path.join(work, "path.txt")):
        i = next((i for i, x in enumerate(st) if root in x), None)
        if i is None: continue
        total += 1
        c[st[i - 1] if i > 0 else "(self)"] += 1
    names = subprocess.run(["swift", "demangle", "--simplified", "--compact"], input="\n".join(k for k, _ in c.most_common(12)),
                           capture_output=True, text=True).stdout.split("\n")
    print(f"\nenrich-path (one pinned core): callees of {root}, share of its {total} samples")
    for (k, v), name in zip(c.most_common(12), names):
        print(f"  {100 * v / max(total, 1):5.1f}%  {name[:110]}")
shares("enrichPacked")
shares("analyzeStaged")
shares("InsightEngineV8remember")
PY
