#!/usr/bin/env bash
# What enrichment costs the live agent beside the analysis's own CPU time (issue 4's 25% goal), one command:
#   1. The analysis's own CPU time per event on one pinned core: `cx-bench enrich-path --no-writer` (the packed path
#      and its payload encoding, less the plain encoding), the median of 3 runs; SPIN_NS overrides it.
#   2. A cx-agent built with bench hooks (`-Xswiftc -DCX_BENCH_HOOKS`, in its own scratch path .build/hooks; release
#      builds have none) takes N events over HTTP (8 producers x 100 events, as bench/run.sh) six ways in each
#      repetition, in an order that rotates from one repetition to the next:
#        plain     enrichment off (`enrichment_enabled: false`)
#        spin      no analysis: the request's thread spins for SPIN_NS of its own CPU time per event, and the events
#                  are stored as posted (a stand-in with the analysis's CPU time and nothing else)
#        stateless the analysis without the stage that needs memory across events (customer keys, near-duplicates,
#                  alert rules) and its lock, results dropped
#        discard   the full analysis, its results then dropped: events stored without scores or alerts, with
#                  their customer identifiers
#        noalerts  as shipped, but the alerts raised are dropped instead of stored
#        enriched  as shipped
#   3. Per variant, the medians of the rate, of the agent's and the load generator's CPU per event (from /proc and
#      from `cx-bench ingest`), of the agent's disk bytes written per event (/proc/PID/io) and of its cost against the
#      plain run of the same repetition. spin's cost is what enrichment would cost were it only its pinned CPU time;
#      discard - spin is what running the analysis among the agent's other work adds (to the analysis itself and to
#      the rest), discard - stateless what the shared stage adds; noalerts - discard is what storing its results but
#      the alerts costs (scores, tags and flags in the rows, customer keys instead of identifiers), enriched -
#      noalerts what storing the alerts costs.
# The first run builds the hooked agent from nothing in .build/hooks (about 8 minutes on 2 cores).
# Writes bench/results/side-effects.md (OUT=path to write elsewhere) and prints it.
# Usage: [N=1000000] [REPS=5] [SPIN_NS=...] bench/side-effects.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-side-effects}
N=${N:-1000000}
REPS=${REPS:-5}
OUT=${OUT:-bench/results/side-effects.md}

ensure_workload "$EVENTS"
build_release cx-bench
BIN=$(swift build -c release --show-bin-path)
swift build -c release --product cx-agent --scratch-path .build/hooks -Xswiftc -DCX_BENCH_HOOKS
HOOKED=$(swift build -c release --scratch-path .build/hooks --show-bin-path)
rm -rf "$WORK" && mkdir -p "$WORK"
head -n "$N" "$EVENTS" >"$WORK/events.jsonl"

if [ -z "${SPIN_NS:-}" ]; then
    for r in 1 2 3; do
        taskset -c 1 "$BIN/cx-bench" enrich-path --events "$EVENTS" --limit 100000 --reps 3 --no-writer | tail -1 \
            >"$WORK/path.$r.json"
    done
    SPIN_NS=$(python3 - "$WORK" <<'PY'
import json, statistics, sys
runs = [json.load(open(f"{sys.argv[1]}/path.{r}.json")) for r in (1, 2, 3)]
print(round(statistics.median(d["enrich_packed_and_encode_us"] - d["encode_plain_us"] for d in runs) * 1000))
PY
)
fi
echo "== spin: $SPIN_NS ns of CPU per event"

run() {  # run REP VARIANT: one ingest into a fresh hooked agent; its figures to WORK/VARIANT.REP.json
    local mode=enriched
    case $2 in
        plain) mode=plain ;;
        spin) export CX_BENCH_SPIN_NS=$SPIN_NS ;;
        stateless) export CX_BENCH_DISCARD=stateless ;;
        discard) export CX_BENCH_DISCARD=1 ;;
        noalerts) export CX_BENCH_DISCARD=alerts ;;
    esac
    start_agent "$HOOKED" "$WORK" "$mode"
    unset CX_BENCH_SPIN_NS CX_BENCH_DISCARD
    local t0 t1 w0 w1
    t0=$(cpu_ticks $AGENT)
    w0=$(written $AGENT)
    "$BIN/cx-bench" ingest --url "http://127.0.0.1:$PORT" --events "$WORK/events.jsonl" --producers 8 --per-request 100 \
        >"$WORK/ingest.json"
    t1=$(cpu_ticks $AGENT)
    w1=$(written $AGENT)
    kill -TERM $AGENT
    wait $AGENT || true
    python3 - "$WORK/ingest.json" "$((t1 - t0))" "$(getconf CLK_TCK)" "$N" "$2" "$((w1 - w0))" <<'PY' | tee "$WORK/$2.$1.json"
import json, sys
d = json.load(open(sys.argv[1]))
ticks, hz, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"variant": sys.argv[5], "events_per_s": d["events_per_s"], "agent_cpu_us": round(ticks / hz * 1e6 / n, 2),
                  "client_cpu_us": d["client_cpu_us_per_event"], "idle": d["host_idle_share"],
                  "disk_bytes": round(int(sys.argv[6]) / n, 1)}))
PY
}

VARIANTS=(plain spin stateless discard noalerts enriched)
for REP in $(seq 1 "$REPS"); do
    echo "== [$REP/$REPS]"
    for k in "${!VARIANTS[@]}"; do run "$REP" "${VARIANTS[$(((REP - 1 + k) % ${#VARIANTS[@]}))]}"; done
done

python3 - "$WORK" "$REPS" "$N" "$SPIN_NS" "$OUT" <<'PY'
import json, os, platform, statistics, subprocess, sys
work, reps, n, spin, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
variants = ["plain", "spin", "stateless", "discard", "noalerts", "enriched"]
runs = {v: [json.load(open(os.path.join(work, f"{v}.{r}.json"))) for r in range(1, reps + 1)] for v in variants}
med = statistics.median
def cost(v):  # each repetition against its own plain run
    return [1 - a["events_per_s"] / p["events_per_s"] for a, p in zip(runs[v], runs["plain"])]
def cpu_cost(v):  # the drop the CPU per event (agent + load generator, which share the cores) predicts
    return [1 - (p["agent_cpu_us"] + p["client_cpu_us"]) / (a["agent_cpu_us"] + a["client_cpu_us"])
            for a, p in zip(runs[v], runs["plain"])]
def extra(v, base, key="agent_cpu_us"):  # `key` per event over `base`, pair by pair
    return [a[key] - b[key] for a, b in zip(runs[v], runs[base])]
swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = []
for v in variants:
    r = runs[v]
    c = f"{med(cost(v)) * 100:.1f}% ({med(cpu_cost(v)) * 100:.1f}%)" if v != "plain" else "-"
    rows.append(f"| {v} | {med(x['events_per_s'] for x in r):,.0f} | {med(x['agent_cpu_us'] for x in r):.2f} | "
                f"{med(x['client_cpu_us'] for x in r):.2f} | {med(x['disk_bytes'] for x in r):.0f} | "
                f"{med(x['idle'] for x in r):.3f} | {c} |")
steps = [("spin - plain", "spin", "plain"), ("stateless - spin", "stateless", "spin"),
         ("discard - stateless", "discard", "stateless"), ("discard - spin", "discard", "spin"),
         ("noalerts - discard", "noalerts", "discard"), ("enriched - noalerts", "enriched", "noalerts"),
         ("enriched - discard", "enriched", "discard"), ("enriched - plain", "enriched", "plain")]
step_rows = []
for name, a, b in steps:
    d = extra(a, b)
    step_rows.append(f"| {name} | {med(d):+.2f} | {sum(x > 0 for x in d)} of {len(d)} | "
                     f"{med(extra(a, b, 'disk_bytes')):+.1f} |")
per_rep = "\n".join(
    "- " + " / ".join(f"{v} {runs[v][i]['events_per_s']:,} ev/s, {runs[v][i]['agent_cpu_us']:.2f} us" for v in variants)
    for i in range(reps))
text = f"""# What enrichment costs the live agent beside its own CPU time

Command: `bench/side-effects.sh` (N={n:,} events of the standard workload per run, REPS={reps}, the six variants in
an order that rotates by repetition; medians). Machine: {os.cpu_count()} cores, {cpu}, {platform.platform()}; {swift}.
The agent is built with bench hooks (`-DCX_BENCH_HOOKS`, not in release builds); 8 producers x 100 events per request,
ack after fsync, as bench/run.sh.

- plain: enrichment off. spin: no analysis; each request's thread spins for {spin} ns of its own CPU time per event
  (the analysis's pinned cost on this machine, `cx-bench enrich-path --no-writer`: packed path and encoding, less the
  plain encoding), events stored as posted. stateless: the analysis without the stage that needs memory across events
  (customer keys, near-duplicates, alert rules) and its lock, results dropped. discard: the full analysis, its results
  dropped (events stored without scores or alerts, with their customer identifiers). noalerts: as shipped, but the
  alerts raised are dropped instead of stored. enriched: as shipped.
- Cost: the drop in events/s against the plain run of the same repetition (in brackets the drop that the agent's and
  the load generator's CPU per event predict).

| variant | events/s | agent CPU us/event | load generator CPU us/event | agent disk bytes/event | host idle | cost |
| --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Agent CPU per event, pair by pair (median of the repetitions' differences; how many were positive), and the disk bytes
written per event (median of the differences):

| step | us/event | positive | disk bytes/event |
| --- | --- | --- | --- |
{chr(10).join(step_rows)}

Each repetition (events/s, agent CPU us/event):

{per_rep}
"""
open(out, "w").write(text)
print(text)
PY
