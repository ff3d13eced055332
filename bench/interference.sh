#!/usr/bin/env bash
# Why enrichment costs more per event inside the live agent than on an idle core (issue 4), one command:
# the agent's packed enrichment path (`cx-bench enrich-path --no-writer`, requests of 100 events, payloads
# encoded) under the conditions the live agent adds, each against the plain one-core run of the same repetition:
#   1. other memory written between requests (1 MiB: more than this core's L2; 4 MiB: half the shared L3), or
#      other code run between them (each request's events decoded from JSON before they are enriched, as the
#      agent's parser runs between its enrichments), the in-between work's own time subtracted; that work is timed
#      alone too, so that the table shows how much each side slows the other;
#   2. two threads enriching at once, sharing one enricher (as the agent's request tasks do) or each with its own;
#   3. larger requests (400 events) under the 4 MiB eviction and the decoding, to tell a per-request cost from a
#      per-event one.
# `bench/commit-delay.sh` gives the live side: the agent's CPU per event by thread pool, enriched and plain.
# Repetitions alternate the variants so that all see the same state of a shared, noisy machine; medians reported.
# Writes bench/results/interference.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROOT=$(pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
REPS=${REPS:-3}
CPU=${CPU:-1}
WORK=${WORK:-/tmp/cxsync-bench-interference}
OUT=$ROOT/bench/results/interference.md
rm -rf "$WORK" && mkdir -p "$WORK" "$ROOT/bench/results"

ensure_workload "$EVENTS"
build_release cx-bench
BIN=$(swift build -c release --show-bin-path)

run() {  # name, then cx-bench enrich-path arguments
    local name=$1
    shift
    "$@" --events "$EVENTS" --no-writer --reps 1 | sed "s/^/$name /" >>"$WORK/runs.txt"
}
for _ in $(seq 1 "$REPS"); do
    run idle taskset -c "$CPU" "$BIN/cx-bench" enrich-path
    run evict1m taskset -c "$CPU" "$BIN/cx-bench" enrich-path --evict-kib 1024
    run evict4m taskset -c "$CPU" "$BIN/cx-bench" enrich-path --evict-kib 4096
    run evict4m_req400 taskset -c "$CPU" "$BIN/cx-bench" enrich-path --evict-kib 4096 --per-request 400
    run decode taskset -c "$CPU" "$BIN/cx-bench" enrich-path --decode-between
    run decode_req400 taskset -c "$CPU" "$BIN/cx-bench" enrich-path --decode-between --per-request 400
    run shared2 "$BIN/cx-bench" enrich-path --threads 2
    run separate2 "$BIN/cx-bench" enrich-path --threads 2 --separate-enrichers
done

python3 - "$WORK/runs.txt" "$OUT" "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" <<'PY'
import json, statistics, sys
runs, out, cores, model = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
by = {}
for line in open(runs):
    name, doc = line.split(" ", 1)
    by.setdefault(name, []).append(json.loads(doc))
def med(name, key):
    return statistics.median(r[key] for r in by[name])
# Every variant once: its run name, the figure it reports, its row's label, and whether work ran between requests.
PATH_US, THREAD_US = "enrich_packed_and_encode_us", "parallel_thread_us"
variants = [
    ("idle", PATH_US, "one core, nothing between requests", False),
    ("evict1m", PATH_US, "one core, 1 MiB written between requests", True),
    ("evict4m", PATH_US, "one core, 4 MiB written between requests", True),
    ("evict4m_req400", PATH_US, "one core, 4 MiB written between requests of 400 events", True),
    ("decode", PATH_US, "one core, each request's events decoded from JSON before it is enriched", True),
    ("decode_req400", PATH_US, "one core, the same between requests of 400 events", True),
    ("shared2", THREAD_US, "two threads at once, one shared enricher (per thread)", False),
    ("separate2", THREAD_US, "two threads at once, an enricher each (per thread)", False),
]
idle = med("idle", PATH_US)
def between(name):
    return "%.2f / %.2f" % (med(name, "between_alone_us"), med(name, "between_in_loop_us"))
rows = [(label, med(name, key), between(name) if timed else "-") for name, key, label, timed in variants]
checksums = {r["rows_checksum"] for rs in by.values() for r in rs}
lines = [
    "# Enrichment path under the live agent's conditions (issue 4)",
    "",
    "`bench/interference.sh` (REPS=%d, medians; %s cores, %s). The agent's packed enrichment path with payload "
    "encoding, microseconds per event over the first 200,000 events of the standard workload, requests of 100 "
    "events unless noted; the time of the work between requests is subtracted, and shown in the last column as "
    "it took alone and as it took between the requests." % (len(by["idle"]), cores, model),
    "",
    "| condition | µs/event | ratio to idle | work between requests, alone / between them, µs/event |",
    "| --- | --- | --- | --- |",
]
for name, v, ev in rows:
    lines.append("| %s | %.2f | %.2f× | %s |" % (name, v, v / idle, ev))
lines += [
    "",
    "Every run stored the same rows: `rows_checksum` %s." % ", ".join(sorted(checksums)),
    "",
    "Per repetition (idle / 1 MiB / 4 MiB / 4 MiB at 400 / decode / decode at 400 / shared ×2 / separate ×2):",
    "",
]
for i in range(len(by["idle"])):
    lines.append("- " + " / ".join("%.2f" % by[name][i][key] for name, key, _, _ in variants))
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
