#!/usr/bin/env bash
# Enrichment path A/B, one command: two cx-bench builds (A = before a change, B = after) run
# `cx-bench enrich-path --no-writer` (the agent's packed enrichment and payload encoding, requests of 100 events)
# pinned to one CPU, alternating, PAIRS pairs; prints each run, the medians, the median of the per-pair
# differences B - A in us/event, and both builds' rows checksums (same rows = same behaviour on the workload).
# A binary reads its model files from the `cxsync_CXInsight.resources` folder beside it: copy that folder with a
# copied binary, or it compares old model files against new ones without saying so.
# FIELD names the figure compared (default enrich_packed_and_encode_us); ARGS adds options to every run, e.g.
# FIELD=request_enriched_us ARGS=--request-path for the whole request path without the writer.
#   bench/path-ab.sh /tmp/before/cx-bench .build/release/cx-bench
set -euo pipefail
source "$(dirname "$0")/lib.sh"
A=${1:?usage: bench/path-ab.sh CX_BENCH_A CX_BENCH_B}
B=${2:?usage: bench/path-ab.sh CX_BENCH_A CX_BENCH_B}
PAIRS=${PAIRS:-8}
LIMIT=${LIMIT:-100000}
CPU=${CPU:-1}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
FIELD=${FIELD:-enrich_packed_and_encode_us}
read -r -a EXTRA <<<"${ARGS:-}"
ensure_workload "$EVENTS"
for bin in "$A" "$B"; do
    [ -d "$(dirname "$bin")/cxsync_CXInsight.resources" ] || {
        echo "no cxsync_CXInsight.resources beside $bin: copy it from the build that made the binary" >&2
        exit 2
    }
done
echo "rows: A $(taskset -c "$CPU" "$A" enrich-path --events "$EVENTS" --limit "$LIMIT" --no-writer | tail -1)"
echo "rows: B $(taskset -c "$CPU" "$B" enrich-path --events "$EVENTS" --limit "$LIMIT" --no-writer | tail -1)"
alternate "$PAIRS" "$CPU" "$A" "$B" enrich-path --events "$EVENTS" --limit "$LIMIT" --reps 6 --no-writer "${EXTRA[@]}" \
    | FIELD=$FIELD python3 -c '
import json, os, statistics as st, sys
runs = {"A": [], "B": []}
for line in sys.stdin:
    side, _, js = line.strip().partition(" ")
    us = json.loads(js)[os.environ["FIELD"]]
    runs[side].append(us)
    print(side, us)
pairs = [b - a for a, b in zip(runs["A"], runs["B"])]
a, b = st.median(runs["A"]), st.median(runs["B"])
faster = sum(p < 0 for p in pairs)
print(f"median us/event: A {a:.2f}, B {b:.2f}; median pair difference B - A {st.median(pairs):+.3f} "
      f"(B faster in {faster} of {len(pairs)} pairs)")
'
