"""Where a live ingest leaves the CPUs idle, from `perf sched record` (sched_switch events, read with `perf script -F
cpu,time,event,trace`), for bench/sched-idle.sh.

The window is the agent's HTTP activity: from the first to the last switch of its event loops. Within it: the share
of the CPUs' time that was idle, the share of the wall time in which every CPU was idle at once, and what ran on the
busy CPUs while some were idle (the idle time is attributed to their threads, split evenly between them), by kind
of thread (bench/thread_times.py's kinds for the agent's threads, "loadgen" for the load generator's, "other" for
the rest). Per kind of the agent's threads: CPU time and the time spent waiting for the disk (switched out in state
D until switched in again), in us per event, and the kind's busy share, (on CPU + disk waits) / wall time, summed over
its threads: the overcommit threads run both the writer's group commits and the checkpoints.
"""
import collections
import json
import re
import sys

from thread_times import kind

SWITCH = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch: prev_comm=(.*?) prev_pid=(\d+) prev_prio=-?\d+ "
                    r"prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")


def analyse(path, agent_tids, loadgen_tids, events):
    switches = []
    for line in open(path):
        m = SWITCH.search(line)
        if m:
            cpu, t, pc, pp, ps, nc, np_ = m.groups()
            switches.append((float(t), int(cpu), pc, int(pp), ps, nc, int(np_)))
    # The CPUs the trace holds: perf sched records the whole host.
    cpus = len({s[1] for s in switches})
    loops = [s[0] for s in switches
             if (s[3] in agent_tids and s[2].startswith("NIO-")) or (s[6] in agent_tids and s[5].startswith("NIO-"))]
    lo, hi = min(loops), max(loops)
    wall = hi - lo

    def who(comm, tid):
        if tid == 0:
            return None
        if tid in agent_tids:
            return kind(comm)
        return "loadgen" if tid in loadgen_tids else "other"

    running = {}  # cpu -> kind (None: idle); unknown until its first switch in the window
    idle_time = 0.0
    all_idle = 0.0
    beside = collections.Counter()
    on_cpu = collections.Counter()
    disk = collections.Counter()
    since = {}  # tid -> (time switched in, kind)
    out_at = {}  # tid -> (time switched out, state, kind)
    seen = set()
    last = lo
    for t, cpu, pc, pp, ps, nc, np_ in switches:
        if t < lo:
            running[cpu] = who(nc, np_)
            continue
        if t > hi:
            break
        if len(running) >= cpus:
            dt = t - last
            idle = [c for c, k in running.items() if k is None]
            busy = [k for k in running.values() if k is not None]
            idle_time += len(idle) * dt
            if not busy:
                all_idle += dt
            elif idle:
                for k in busy:
                    beside[k] += len(idle) * dt / len(busy)
        last = t
        running[cpu] = who(nc, np_)
        if pp in agent_tids:
            # Running since the window began if this is its first switch; a later switch out without a switch in
            # before it follows a lost event (perf drops some under load), and counts nothing.
            start, k = since.pop(pp, (lo if pp not in seen else t, kind(pc)))
            on_cpu[k] += t - start
            out_at[pp] = (t, ps, k)
            seen.add(pp)
        if np_ in agent_tids:
            since[np_] = (t, kind(nc))
            seen.add(np_)
            if np_ in out_at:
                t0, state, k = out_at.pop(np_)
                if state.startswith("D"):
                    disk[k] += t - t0
    for tid, (start, k) in since.items():
        on_cpu[k] += hi - start
    us = lambda s: round(s * 1e6 / events, 2)
    return {
        "window_s": round(wall, 3),
        "idle_share": round(idle_time / (cpus * wall), 3),
        "all_idle_share": round(all_idle / wall, 3),
        "idle_beside": {k: round(v / (cpus * wall), 3) for k, v in beside.most_common()},
        "on_cpu_us": {k: us(v) for k, v in sorted(on_cpu.items())},
        "disk_wait_us": {k: us(v) for k, v in sorted(disk.items())},
        "busy_share": {k: round((on_cpu[k] + disk[k]) / wall, 3) for k in sorted(on_cpu)},
    }


if __name__ == "__main__":
    path, agent, loadgen, events = sys.argv[1:5]
    tids = lambda p: {int(x) for x in open(p).read().split()}
    print(json.dumps(analyse(path, tids(agent), tids(loadgen), int(events))))
