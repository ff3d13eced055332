#!/usr/bin/env python3
"""What `customer_days` (hub migration v4) saves a customer timeline or erasure, one command:
    python3 bench/customer-days.py
A model of the hub's query on its own index layout (`events_customer (store_id, day, customer_id)`, the stores found by
a loose scan), with the system SQLite the hub links: 100 stores x 1,095 days x 5 events, customers drawn from 200,000.
It times the timeline query of HubStore.customerTimeline before (every calendar day between the hub's oldest and newest
event) and after (the days in `customer_days`), both on the same database in the same run, for 10 customers; then again
with one more store whose two events are dated 2000 and 2098 (a kiosk with a bad clock). Both queries must return the
same rows. The SQL is copied from Sources/CXHub/Query/HubStore+Queries.swift (storesCTE, customerStoresAndDaysCTE)."""
import os, random, sqlite3, statistics, sys, time

path = os.environ.get("DB", "/tmp/cxsync-customer-days.sqlite")
if not os.path.exists(path):
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE events (id INTEGER PRIMARY KEY, event_id BLOB NOT NULL, store_id TEXT NOT NULL,
            occurred_at INTEGER NOT NULL, customer_id TEXT, day INTEGER NOT NULL, text TEXT);
        CREATE UNIQUE INDEX events_identity ON events (store_id, occurred_at, event_id);
        CREATE INDEX events_customer ON events (store_id, day, customer_id) WHERE customer_id IS NOT NULL;
        CREATE TABLE customer_days (day INTEGER PRIMARY KEY);
    """)
    rng = random.Random(1)
    rows = [(rng.randbytes(16), f"store-{s:03d}", (20000 + d) * 86_400_000 + k * 1000, f"c{rng.randrange(200_000)}",
             20000 + d, "text") for s in range(100) for d in range(1095) for k in range(5)]
    db.executemany("INSERT INTO events (event_id, store_id, occurred_at, customer_id, day, text) VALUES (?,?,?,?,?,?)",
                   rows)
    db.execute("INSERT INTO customer_days SELECT DISTINCT day FROM events WHERE customer_id IS NOT NULL")
    db.commit()
    db.close()

db = sqlite3.connect(path)
STORES = """stores(s) AS (
    SELECT min(store_id) FROM events
    UNION ALL
    SELECT (SELECT min(store_id) FROM events WHERE store_id > s) FROM stores WHERE s IS NOT NULL)"""
SPAN = f"""WITH RECURSIVE {STORES}
    SELECT min((SELECT min(occurred_at) FROM events WHERE store_id = s)) AS lo,
        max((SELECT max(occurred_at) FROM events WHERE store_id = s)) AS hi
    FROM stores WHERE s IS NOT NULL"""
BEFORE = f"""WITH RECURSIVE {STORES},
    days(d) AS (SELECT ?1 UNION ALL SELECT d + 1 FROM days WHERE d < ?2)
    SELECT id, occurred_at FROM events
    WHERE store_id IN (SELECT s FROM stores WHERE s IS NOT NULL) AND day IN (SELECT d FROM days) AND customer_id = ?3
    ORDER BY occurred_at, event_id LIMIT ?4"""
AFTER = f"""WITH RECURSIVE {STORES},
    days(d) AS (SELECT day FROM customer_days)
    SELECT id, occurred_at FROM events
    WHERE store_id IN (SELECT s FROM stores WHERE s IS NOT NULL) AND day IN (SELECT d FROM days) AND customer_id = ?1
    ORDER BY occurred_at, event_id LIMIT ?2"""


def measure(label, customers):
    lo, hi = db.execute(SPAN).fetchone()
    first, last = lo // 86_400_000, hi // 86_400_000
    times = {"before": [], "after": []}
    for c in customers:  # alternating, so that the host's state weighs on both alike
        t = time.perf_counter()
        old = db.execute(BEFORE, (first, last, c, 100)).fetchall()
        times["before"].append(time.perf_counter() - t)
        t = time.perf_counter()
        new = db.execute(AFTER, (c, 100)).fetchall()
        times["after"].append(time.perf_counter() - t)
        assert old == new, f"rows differ for {c}"
    b, a = statistics.median(times["before"]) * 1000, statistics.median(times["after"]) * 1000
    days = db.execute("SELECT count(*) FROM customer_days").fetchone()[0]
    print(f"| {label} | {last - first + 1:,} | {days:,} | {b:.1f} | {a:.1f} | {b / a:.1f}x |")


customers = [f"c{i}" for i in range(0, 200_000, 20_000)]
print("| hub | calendar days (before) | customer_days (after) | before ms/timeline | after ms/timeline | speed-up |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
measure("100 stores x 3 years", customers)
for day in (11_000, 47_000):  # 2000-02-12 and 2098-09-06
    db.execute("INSERT INTO events (event_id, store_id, occurred_at, customer_id, day, text) VALUES (?,?,?,?,?,?)",
               (os.urandom(16), "store-zzz", day * 86_400_000, "c0", day, "bad clock"))
    db.execute("INSERT OR IGNORE INTO customer_days VALUES (?)", (day,))
measure("the same and one store with events in 2000 and 2098", customers)
db.rollback()
