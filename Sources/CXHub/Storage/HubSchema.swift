import GRDB

/// The hub's schema, migrated in order before the listener opens.
enum HubSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
                    -- Only SHA-256 digests of tokens are kept: a stolen database does not enroll anyone.
                    CREATE TABLE enrollment_tokens (
                        token_hash BLOB PRIMARY KEY NOT NULL,
                        store_id TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        used_at INTEGER,
                        used_by TEXT
                    ) WITHOUT ROWID;
                    CREATE TABLE agents (
                        agent_id TEXT PRIMARY KEY NOT NULL,
                        store_id TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        public_key BLOB NOT NULL,
                        status TEXT NOT NULL DEFAULT 'active',
                        enrolled_at INTEGER NOT NULL,
                        revoked_at INTEGER,
                        last_sync_at INTEGER,
                        epoch INTEGER NOT NULL DEFAULT 0,
                        high_water_mark INTEGER NOT NULL DEFAULT 0,
                        events_synced INTEGER NOT NULL DEFAULT 0,
                        batches_synced INTEGER NOT NULL DEFAULT 0,
                        bytes_received INTEGER NOT NULL DEFAULT 0,
                        clock_offset_ms INTEGER NOT NULL DEFAULT 0,
                        skewed INTEGER NOT NULL DEFAULT 0,
                        buffer_depth INTEGER NOT NULL DEFAULT 0,
                        oldest_unsynced_ms INTEGER NOT NULL DEFAULT 0,
                        last_seq INTEGER NOT NULL DEFAULT 0,
                        used_bytes INTEGER NOT NULL DEFAULT 0,
                        quota_bytes INTEGER NOT NULL DEFAULT 0,
                        agent_version TEXT NOT NULL DEFAULT '',
                        downstream_cursor INTEGER NOT NULL DEFAULT 0,
                        refusals INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT
                    ) WITHOUT ROWID;
                    CREATE TABLE high_water_marks (
                        agent_id TEXT NOT NULL,
                        epoch INTEGER NOT NULL,
                        hwm INTEGER NOT NULL,
                        PRIMARY KEY (agent_id, epoch)
                    ) WITHOUT ROWID;
                    -- The idempotency keys of acknowledged batches and what was answered.
                    CREATE TABLE batches (
                        agent_id TEXT NOT NULL,
                        epoch INTEGER NOT NULL,
                        seq_from INTEGER NOT NULL,
                        seq_to INTEGER NOT NULL,
                        content_hash BLOB NOT NULL,
                        hwm INTEGER NOT NULL,
                        acked_at INTEGER NOT NULL,
                        PRIMARY KEY (agent_id, epoch, seq_from, seq_to)
                    ) WITHOUT ROWID;
                    CREATE TABLE events (
                        id INTEGER PRIMARY KEY,
                        event_id BLOB NOT NULL,
                        agent_id TEXT NOT NULL,
                        epoch INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        store_id TEXT NOT NULL,
                        device_id TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        type TEXT NOT NULL,
                        occurred_at INTEGER NOT NULL,
                        hlc INTEGER NOT NULL,
                        customer_id TEXT,
                        journey_stage TEXT,
                        score REAL,
                        sentiment REAL,
                        day INTEGER NOT NULL,
                        received_at INTEGER NOT NULL,
                        text TEXT,
                        -- The rest of the wire event when it has any (amount, attributes, enrichment): a serialized
                        -- cxsync.v1.Event holding only those fields; NULL otherwise.
                        extra BLOB
                    );
                    -- An event is an immutable fact: its occurred_at never changes, so (occurred_at, event_id) finds
                    -- a re-sent event as surely as event_id alone, and keeps index inserts in time order instead of
                    -- scattering them over the whole B-tree (random UUIDs made SQLite 3.5x slower here). It also serves
                    -- time-window queries, so no separate (store, time) index is paid for on every insert.
                    CREATE UNIQUE INDEX events_identity ON events (occurred_at, event_id);
                    -- By day first: a batch covers about a day of one store, so its inserts land in one region of
                    -- the index instead of one page per customer all over it; a timeline seeks once per day.
                    CREATE INDEX events_customer ON events (day, customer_id) WHERE customer_id IS NOT NULL;
                    CREATE TABLE lww (
                        collection TEXT NOT NULL,
                        key TEXT NOT NULL,
                        field TEXT NOT NULL,
                        value TEXT,
                        hlc INTEGER NOT NULL,
                        node TEXT NOT NULL,
                        PRIMARY KEY (collection, key, field)
                    ) WITHOUT ROWID;
                    CREATE TABLE alerts (
                        alert_id TEXT PRIMARY KEY NOT NULL,
                        store_id TEXT NOT NULL,
                        rule TEXT NOT NULL,
                        severity TEXT NOT NULL,
                        summary TEXT NOT NULL,
                        raised_hlc INTEGER NOT NULL,
                        status INTEGER NOT NULL,
                        note TEXT, note_hlc INTEGER, note_node TEXT,
                        assignee TEXT, assignee_hlc INTEGER, assignee_node TEXT,
                        updated_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE erasures (subject TEXT PRIMARY KEY NOT NULL, hlc INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE TABLE identity_links (a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b)) WITHOUT ROWID;
                    -- The downstream stream: every change an agent must hear about, in cursor order.
                    -- store_id NULL: for every agent.
                    CREATE TABLE downstream (
                        cursor INTEGER PRIMARY KEY AUTOINCREMENT,
                        kind TEXT NOT NULL,
                        store_id TEXT,
                        payload BLOB NOT NULL
                    );
                    """)
        }
        m.registerMigration("v2-customer-index-by-store") { db in
            // Store first: a batch holds one store's events, so its customer-index entries land in that store's
            // few pages instead of all over each day's section, which every store shares (+18-20% merge rate in
            // interleaved A/B runs). A timeline seeks once per (store, day), the stores found by a loose scan.
            try db.execute(
                sql: """
                    DROP INDEX events_customer;
                    CREATE INDEX events_customer ON events (store_id, day, customer_id) WHERE customer_id IS NOT NULL;
                    """)
        }
        m.registerMigration("v3-event-identity-by-store") { db in
            // Store first, for the same reason as the customer index: the stores' events interleave in time, so
            // a batch's entries in a time-keyed index were spread over every page of its time range (about 70
            // pages of 32 KiB written per 1,000-event batch, 3.3 GB for the 1M-event workload). An event's store
            // never changes, so (store_id, occurred_at, event_id) still finds a re-sent event.
            try db.execute(
                sql: """
                    DROP INDEX events_identity;
                    CREATE UNIQUE INDEX events_identity ON events (store_id, occurred_at, event_id);
                    """)
        }
        m.registerMigration("v4-customer-days") { db in
            // The days on which some event names a customer: a timeline or an erasure seeks once per (store, day)
            // of these, not of every calendar day between the hub's oldest and newest event. One event dated decades
            // off (a kiosk with a bad clock) made that span tens of thousands of days for every store: a timeline of
            // 100 stores x 3 years took 1.3 s instead of 57 ms (bench/results/customer-days.md). Kept up at merge, a
            // few rows per batch; days whose events were erased stay, costing a seek each.
            try db.execute(
                sql: """
                    CREATE TABLE customer_days (day INTEGER PRIMARY KEY);
                    INSERT INTO customer_days SELECT DISTINCT day FROM events WHERE customer_id IS NOT NULL;
                    """)
        }
        return m
    }
}
