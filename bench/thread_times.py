"""Two snapshots of a process's threads by lib.sh's `thread_times`, read one way: the CPU time each kind of thread
used between them, and the time it waited for a CPU.

Kinds: "cooperative" (Swift's cooperative pool: parsing, enrichment, encoding), "overcommit" (libdispatch's
overcommit threads: the SQLite writer's group commits, checkpoints), "nio" (the event loops) and "other". A thread
started between the snapshots counts from zero; one that ended takes its time with it (libdispatch retires idle
threads), so the kinds' sums can fall short of the process's own CPU time.
"""


def kind(name):
    if name.endswith("default-qos"):
        return "cooperative"
    if name.endswith("overcommit"):
        return "overcommit"
    return "nio" if name.startswith("NIO-") else "other"


def snapshot(path):  # tid -> (thread name, ns on CPU, ns waiting for a CPU)
    return {tid: (name, int(run), int(wait))
            for tid, name, run, wait in (f for f in (line.split() for line in open(path))
                                         if len(f) == 4)}  # a thread that ended while it was read


def by_kind(before_path, after_path):
    """kind -> (ns on CPU, ns waiting for a CPU) between the two snapshots."""
    before, out = snapshot(before_path), {}
    for tid, (name, run, wait) in snapshot(after_path).items():
        _, run0, wait0 = before.get(tid, (name, 0, 0))
        r, w = out.get(kind(name), (0, 0))
        out[kind(name)] = (r + run - run0, w + wait - wait0)
    return out
