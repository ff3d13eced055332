#!/usr/bin/env python3
"""WAL bytes and time per alert insert, by alert id layout (a model of the agent's alerts table).

The agent's `alerts` table is WITHOUT ROWID, ordered by alert_id. With ids `rule.time.scope` each rule's new alerts
land at the end of that rule's range, inside the table; with `time.rule.scope` they land at the end of the table.
This inserts the same alerts both ways (the workload's rule mix: mostly churn-threat, with a customer-key scope),
a few per transaction as the group commit does, and prints the WAL bytes and the time per alert. synchronous=OFF:
the time is SQLite's work, not the disk's. Python's sqlite3 module, not the agent's SQLite build.

Usage: python3 bench/alert-ids.py [alerts] [alerts per commit]
"""
import hashlib
import os
import random
import sqlite3
import sys
import tempfile
import time

SCHEMA = """CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY NOT NULL, status INTEGER NOT NULL,
    note TEXT, note_hlc INTEGER, note_node TEXT, assignee TEXT, assignee_hlc INTEGER, assignee_node TEXT,
    rule TEXT NOT NULL, severity TEXT NOT NULL, store_id TEXT NOT NULL, summary TEXT NOT NULL,
    raised_hlc INTEGER NOT NULL, updated_at INTEGER NOT NULL
) WITHOUT ROWID"""
# 8,191 of 8,491 alerts raised by the first 200k events of gen_events.py were churn-threat (customer scope).
RULES = ["churn-threat"] * 96 + ["complaint", "csat-low", "very-negative", "nps-detractor"]


def alerts(layout, n, per):
    rng = random.Random(1)
    now = 1796320206475
    for i in range(n):
        if i % per == 0:
            now += 2
        rule, store = rng.choice(RULES), "store-%03d" % rng.randrange(50)
        key = hashlib.md5(str(i).encode()).hexdigest()
        parts = [rule, str(now)] if layout == "rule-first" else [str(now), rule]
        yield (".".join(parts + [store, key, key[:12]]), 0, rule, "warning", store, "Cancellation at " + store,
               now << 16, now)


def run(layout, n, per, directory):
    db = os.path.join(directory, layout + ".db")
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute(SCHEMA)
    rows = list(alerts(layout, n, per))
    t = time.perf_counter()
    for i in range(0, n, per):
        c.execute("BEGIN")
        c.executemany("INSERT INTO alerts (alert_id, status, rule, severity, store_id, summary, raised_hlc, "
                      "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows[i:i + per])
        c.execute("COMMIT")
    seconds = time.perf_counter() - t
    wal = os.path.getsize(db + "-wal")
    pages = c.execute("PRAGMA page_count").fetchone()[0]
    c.close()
    print(f"{layout:10s} {seconds * 1e6 / n:6.2f} us/alert  {wal / n:6.0f} WAL bytes/alert  {pages} pages")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 80_000
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    print(f"{n} alerts, {per} per commit, SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as directory:
        for rep in range(2):
            os.makedirs(os.path.join(directory, str(rep)))
            for layout in ("rule-first", "time-first"):
                run(layout, n, per, os.path.join(directory, str(rep)))


if __name__ == "__main__":
    main()
