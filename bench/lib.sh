# Helpers the bench scripts source: the standard workload, a live agent to ingest into, and alternating pinned runs
# of two builds.

# ensure_workload FILE: the standard 1M-event workload (gen_events.py, default seed) at FILE, generated if missing.
ensure_workload() {
    local peers=${PEERS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/bench/peers}
    [ -f "$1" ] || python3 "$peers/gen_events.py" --out "$1"
}

# ensure_perf: the `perf` tool, installed if missing (the live profiles and traces need it).
ensure_perf() {
    command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf; }
}

# fresh_events FULL N WORK: an empty WORK holding the first N events of the workload FULL (generated if missing) as
# WORK/events.jsonl.
fresh_events() {
    ensure_workload "$1"
    rm -rf "$3" && mkdir -p "$3"
    head -n "$2" "$1" >"$3/events.jsonl"
}

# build_release [PRODUCT...]: a release build of each PRODUCT (of every product without one), after installing the
# system libraries it links against (scripts/deps.sh): a fresh machine has none of them.
build_release() {
    "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/deps.sh"
    if [ $# -eq 0 ]; then
        swift build -c release
        return
    fi
    local product
    for product in "$@"; do swift build -c release --product "$product"; done
}

# The bench scripts' Python reads `perf script` output through bench/perf_samples.py.
export PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"

# start_agent BIN_DIR WORK MODE [LAUNCHER...]: a fresh cx-agent of BIN_DIR on WORK/agent (plain: enrichment_enabled
# false), on a free port, started through LAUNCHER when one is given (e.g. `perf record ... --`, which then samples
# every thread the agent ever has); returns once it listens, with the agent's pid in AGENT, the launcher's (the
# agent's when there is none) in LAUNCHER and its port in PORT.
start_agent() {
    local bin=$1 work=$2 mode=$3
    shift 3
    rm -rf "$work/agent"
    if [ "$mode" = plain ]; then export CX_AGENT_ENRICHMENT_ENABLED=false; fi
    "$@" "$bin/cx-agent" run --data-dir "$work/agent" --listen-port 0 --log-level warning \
        >"$work/agent.out" 2>"$work/agent.err" &
    LAUNCHER=$!
    AGENT=$LAUNCHER
    unset CX_AGENT_ENRICHMENT_ENABLED
    for _ in $(seq 1 600); do grep -q "listening on" "$work/agent.out" 2>/dev/null && break; sleep 0.05; done
    if [ $# -gt 0 ]; then AGENT=$(pgrep -P "$LAUNCHER" -f "cx-agent run" | head -1); fi
    PORT=$(grep -o '[0-9]*$' "$work/agent.out" | head -1)
}

# cpu_ticks PID: the CPU time process PID has used so far, in clock ticks (`getconf CLK_TCK` per second): utime +
# stime of /proc/PID/stat (the agent's name has no spaces, so the fields do not shift).
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat; }

# written PID: the bytes process PID has caused to be written to storage so far (write_bytes of /proc/PID/io).
written() { awk '$1 == "write_bytes:" {print $2}' /proc/"$1"/io; }

# thread_times PID: one "tid name ns-on-CPU ns-waiting-for-a-CPU" line per thread of process PID, from its
# schedstat; bench/thread_times.py reads two such snapshots by kind of thread.
thread_times() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "${t##*/} $(tr ' ' _ <"$t/comm") $(cut -d' ' -f1,2 "$t/schedstat")"
    done 2>/dev/null
}

# abba ROUND FIRST SECOND: runs the commands (functions) FIRST then SECOND in an odd ROUND, SECOND then FIRST in an
# even one, so that a host that gets busier or quieter through the rounds favours neither (exactly so over an even
# number of rounds).
abba() {
    if [ $(($1 % 2)) = 1 ]; then
        "$2"
        "$3"
    else
        "$3"
        "$2"
    fi
}

# alternate ROUNDS CPU BIN_A BIN_B ARGS...: ROUNDS rounds of BIN_A and BIN_B with ARGS, pinned to CPU, in ABBA order;
# prints "A <last line of its output>" and "B ..." per run.
alternate() {
    local rounds=$1 cpu=$2 a=$3 b=$4 i
    shift 4
    local args=("$@")
    # Bash's dynamic scope: the two see this call's locals.
    run_a() { echo "A $(taskset -c "$cpu" "$a" "${args[@]}" | tail -1)"; }
    run_b() { echo "B $(taskset -c "$cpu" "$b" "${args[@]}" | tail -1)"; }
    for i in $(seq 1 "$rounds"); do abba "$i" run_a run_b; done
}
