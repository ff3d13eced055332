"""`perf script` output for the bench scripts (profile-ingest.sh, live-ab.sh), read one way.

Each sample: its frames, leaf first, symbol offsets dropped, and the library its leaf is in (Debian's SQLite has
no frame pointers, so its samples name no caller: the library is where its share shows). With a window (seconds
on the monotonic clock, recorded with `perf record -k CLOCK_MONOTONIC`), only the samples inside it.
"""
import os
import re


def samples(path, window=None):
    for block in open(path).read().split("\n\n"):
        head, *rest = block.strip().split("\n")
        if window:
            t = re.search(r"\s(\d+\.\d+):", head)
            if not t or not window[0] <= float(t.group(1)) <= window[1]:
                continue
        lines = [l.strip() for l in rest if l.strip()]
        if not lines:
            continue
        frames = [re.sub(r"\+0x[0-9a-f]+$", "", l.split(" ", 1)[1].rsplit(" (", 1)[0]) if " " in l else l
                  for l in lines]
        library = re.search(r"\(([^()]*)\)$", lines[0])
        yield frames, os.path.basename(library.group(1)) if library else "?"
