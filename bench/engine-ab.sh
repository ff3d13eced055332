#!/usr/bin/env bash
# Engine A/B, one command: two cx-bench builds (A = before a change, B = after) run `cx-bench insight` one
# repetition at a time, alternating, ROUNDS rounds each, pinned to CPU; prints the median texts/s of each and the
# median of the per-round ratios B/A for sentiment alone and full enrichment, and checks that both builds give the
# same checksum (same scores). Single runs on this shared host vary by about 5%; a ratio per round taken seconds
# apart is what separates a change of a few percent from the host's drift.
#   bench/engine-ab.sh /tmp/before/cx-bench .build/release/cx-bench
set -euo pipefail
source "$(dirname "$0")/lib.sh"
A=${1:?usage: bench/engine-ab.sh CX_BENCH_A CX_BENCH_B}
B=${2:?usage: bench/engine-ab.sh CX_BENCH_A CX_BENCH_B}
ROUNDS=${ROUNDS:-8}
N=${N:-60000}
CPU=${CPU:-1}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
ensure_workload "$EVENTS"

alternate "$ROUNDS" "$CPU" "$A" "$B" insight --events "$EVENTS" --n "$N" --reps 1 | python3 -c '
import json, statistics as st, sys
runs = {"A": [], "B": []}
for line in sys.stdin:
    side, doc = line.split(" ", 1)
    runs[side].append(json.loads(doc))
sums = {s: {r["checksum"] for r in runs[s]} for s in runs}
out = {"rounds": len(runs["A"]), "checksum_A": sorted(sums["A"]), "checksum_B": sorted(sums["B"]),
       "same_output": sums["A"] == sums["B"]}
for key in ("sentiment_texts_per_s", "enrich_texts_per_s"):
    a = [r[key] for r in runs["A"]]
    b = [r[key] for r in runs["B"]]
    ratios = [y / x for x, y in zip(a, b)]
    out[key] = {"A_median": st.median(a), "B_median": st.median(b),
                "ratio_B_over_A_median": round(st.median(ratios), 3), "ratios": [round(x, 3) for x in ratios]}
print(json.dumps(out))
sys.exit(0 if out["same_output"] else 1)
'
