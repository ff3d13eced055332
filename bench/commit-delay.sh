#!/usr/bin/env bash
# Group commit under ingest, one command, release build: for each commit delay (DELAYS, microseconds), a fresh
# cx-agent takes N events of the standard workload (8 producers x 100 events, ack after fsync), enriched and then
# plain; prints events/s, p99 ack, requests per commit from /v1/status (commits_since_start,
# committed_requests_since_start) and the agent's CPU time per event (user + system, from /proc), which says what
# enrichment costs the agent itself (the benchmark client shares the cores), with its split by thread pool (time
# on CPU from /proc/<pid>/task/*/schedstat): the Swift cooperative pool that parses, enriches and encodes requests,
# the dispatch overcommit threads that run SQLite (group commits, checkpoints) and NIO's event loops. Runs
# interleave so that each delay sees the same state of a noisy host. Also printed: the writer's waits for requests
# being prepared (count, and milliseconds per committed request) and the host's idle share during the run.
# Also: the bytes the agent wrote to disk per event (/proc/<pid>/io) and how long the overcommit threads (the
# writer) waited for a CPU. DELAYS=3000 (the default delay alone) compares builds by CPU per event; BINS="dirA dirB"
# (directories holding cx-agent) alternates prebuilt builds run after run instead of building this tree, and
# MODES=enriched leaves out plain ingest. The load generator's CPU per event is printed too (`cx-bench ingest`
# reports its own, over the timed loop): it shares the two cores, so the drop in events/s that enrichment causes
# follows the ratio of agent + load generator CPU per event, which the results file sets side by side for each
# repetition. Writes bench/results/commit-delay.md (OUT=path to write elsewhere) and prints it.
# PER_REQUEST (default 100) sets the events per request; AGENT_CPUS and CLIENT_CPUS (taskset lists, e.g. 0 and 1)
# pin the agent and the load generator, to tell the cost of two requests enriching at once from the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROOT=$(pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
WORK=${WORK:-/tmp/cxsync-bench-commit-delay}
N=${N:-300000}
DELAYS=${DELAYS:-"0 3000"}
REPS=${REPS:-2}
MODES=${MODES:-"enriched plain"}
PER_REQUEST=${PER_REQUEST:-100}
pin() { if [ -n "$1" ]; then echo taskset -c "$1"; fi; }
OUT=${OUT:-$ROOT/bench/results/commit-delay.md}

ensure_workload "$EVENTS"
build_release cx-bench
CLIENT=$(swift build -c release --show-bin-path)
if [ -z "${BINS:-}" ]; then
    build_release cx-agent
    BINS=$CLIENT
fi

run() {  # run DELAY MODE BIN
    rm -rf "$WORK" && mkdir -p "$WORK"
    CX_AGENT_COMMIT_DELAY_US=$1 CX_AGENT_ENRICHMENT_ENABLED=$([ "$2" = plain ] && echo false || echo true) \
        $(pin "${AGENT_CPUS:-}") "$3/cx-agent" run --data-dir "$WORK/agent" --listen-port 0 --log-level warning >"$WORK/out" 2>"$WORK/err" &
    local agent=$!
    for _ in $(seq 1 600); do grep -q "listening on" "$WORK/out" 2>/dev/null && break; sleep 0.05; done
    local port
    port=$(grep -o '[0-9]*$' "$WORK/out" | head -1)
    local t0 t1 w0 w1
    t0=$(cpu_ticks $agent)
    w0=$(written $agent)
    thread_times $agent >"$WORK/threads0"
    $(pin "${CLIENT_CPUS:-}") "$CLIENT/cx-bench" ingest --url "http://127.0.0.1:$port" --events "$EVENTS" --producers 8 \
        --per-request "$PER_REQUEST" \
        --limit "$N" >"$WORK/ingest.json"
    t1=$(cpu_ticks $agent)
    w1=$(written $agent)
    thread_times $agent >"$WORK/threads1"
    curl -s "http://127.0.0.1:$port/v1/status" >"$WORK/status.json"
    kill -TERM $agent; wait $agent || true
    python3 - "$WORK" "$1" "$2" "$((t1 - t0))" "$(getconf CLK_TCK)" "$3" "$((w1 - w0))" <<'PY' | tee -a "$RUNS"
import json, os, sys
from thread_times import by_kind
work, delay, mode, ticks, hz, build, written = sys.argv[1:]
i = json.load(open(os.path.join(work, "ingest.json")))
s = json.load(open(os.path.join(work, "status.json")))

# CPU time during the run by pool, and the writer's (overcommit threads') wait for a CPU
threads = by_kind(os.path.join(work, "threads0"), os.path.join(work, "threads1"))
pool_ns = {pool: ns for pool, (ns, _) in threads.items()}
writer_wait_ns = threads.get("overcommit", (0, 0))[1]
print(json.dumps({"build": build, "commit_delay_us": int(delay), "mode": mode, "events_per_s": i["events_per_s"],
                  "ack_latency_ms_p99": i["ack_latency_ms_p99"], "commits": s["commits_since_start"],
                  "requests_per_commit": round(s["committed_requests_since_start"] / s["commits_since_start"], 2),
                  "commit_waits": s.get("commit_waits_since_start"),
                  "commit_wait_ms_per_request": round(
                      s.get("commit_wait_ms_since_start", 0) / s["committed_requests_since_start"], 3),
                  "host_idle_share": i.get("host_idle_share"),
                  "agent_cpu_us_per_event": round(int(ticks) / int(hz) * 1e6 / i["events"], 2),
                  "client_cpu_us_per_event": i.get("client_cpu_us_per_event"),
                  "disk_write_bytes_per_event": round(int(written) / i["events"]),
                  "writer_runqueue_wait_s": round(writer_wait_ns / 1e9, 2),
                  "thread_cpu_us_per_event": {
                      pool: round(ns / 1e3 / i["events"], 2) for pool, ns in sorted(pool_ns.items())}}))
PY
}

RUNS=$(mktemp)
trap 'rm -f "$RUNS"' EXIT
for _ in $(seq 1 "$REPS"); do
    for d in $DELAYS; do
        for m in $MODES; do
            for b in $BINS; do run "$d" "$m" "$b"; done
        done
    done
done
rm -rf "$WORK"

python3 - "$RUNS" "$OUT" "$N" "$REPS" "$PER_REQUEST" "${AGENT_CPUS:-}" "${CLIENT_CPUS:-}" <<'PY'
import json, os, platform, subprocess, sys
runs_path, out, n, reps, per_request, agent_cpus, client_cpus = sys.argv[1:8]
n, reps = int(n), int(reps)
pinned = f" Agent pinned to CPUs {agent_cpus}." if agent_cpus else ""
pinned += f" Load generator pinned to CPUs {client_cpus}." if client_cpus else ""
runs = [json.loads(l) for l in open(runs_path) if l.startswith("{")]
med = lambda xs: sorted(xs)[len(xs) // 2]
cpu = lambda r: r["agent_cpu_us_per_event"] + r["client_cpu_us_per_event"]
groups = {}
for r in runs:
    groups.setdefault((r["build"], r["commit_delay_us"], r["mode"]), []).append(r)
rows = []
for (build, delay, mode), rs in groups.items():
    pools = {p: med([r["thread_cpu_us_per_event"].get(p, 0) for r in rs]) for p in ("cooperative", "overcommit", "nio")}
    rows.append(f"| {os.path.basename(build.rstrip('/'))} | {delay} | {mode} | {med([r['events_per_s'] for r in rs]):,} "
                f"| {med([r['agent_cpu_us_per_event'] for r in rs])} | {pools['cooperative']} / {pools['overcommit']} / "
                f"{pools['nio']} | {med([r['client_cpu_us_per_event'] for r in rs])} "
                f"| {med([r['disk_write_bytes_per_event'] for r in rs])} | {med([r['requests_per_commit'] for r in rs])} "
                f"| {med([r['host_idle_share'] for r in rs])} |")
# Enriched against plain, run by run: the rate ratio, and the ratio of agent + load generator CPU per event.
pairs = []
for (build, delay, mode), rs in groups.items():
    plain = groups.get((build, delay, "plain"))
    if mode != "enriched" or not plain:
        continue
    for e, p in zip(rs, plain):
        pairs.append(f"| {os.path.basename(build.rstrip('/'))} | {delay} | {1 - e['events_per_s'] / p['events_per_s']:.0%} "
                     f"| {1 - cpu(p) / cpu(e):.0%} | {cpu(e) - cpu(p):.2f} |")
cpu_name = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
md = f"""# Group commit and CPU per event under ingest

Command: `bench/commit-delay.sh` (N={n:,} events per run, REPS={reps}, interleaved; medians). Machine:
{os.cpu_count()} cores, {cpu_name}, {platform.platform()}; {swift}.

Each run: a fresh cx-agent, 8 producers x {per_request} events per request, ack after fsync.{pinned} CPU is µs per event:
the agent's (user + system), split by thread pool (cooperative: parsing, enrichment, encoding; overcommit: SQLite
commits and checkpoints; NIO: HTTP), and the load generator's, which shares the cores.

| build | commit delay µs | mode | events/s | agent CPU | cooperative / overcommit / NIO | load generator CPU | disk bytes/event | requests/commit | host idle |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

Enrichment cost per repetition: the drop in events/s against the plain run of the same repetition, and the drop
that the CPU per event (agent + load generator) predicts, 1 - plain CPU / enriched CPU; and the enriched run's
extra CPU per event.

| build | commit delay µs | cost (events/s) | cost predicted by CPU | extra CPU µs/event |
| --- | --- | --- | --- | --- |
{chr(10).join(pairs) if pairs else "| (no plain runs) | | | | |"}
"""
open(out, "w").write(md)
print(md)
PY
