import GRDB

/// The buffer's schema, migrated in order before the agent accepts traffic.
enum BufferSchema {
    static let counterNames = [
        "next_seq", "synced_through", "hlc_last", "accepted_total", "duplicates_total", "evicted_total",
        "refused_events_total", "refused_requests_total", "lost_in_recovery_total",
    ]

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
                    -- seq is both the row id and the outbox order: appends only, gap-free within the epoch.
                    CREATE TABLE events (
                        seq INTEGER PRIMARY KEY,
                        event_id BLOB NOT NULL,
                        occurred_at INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        hlc INTEGER NOT NULL,
                        payload BLOB NOT NULL
                    );
                    CREATE UNIQUE INDEX events_event_id ON events (event_id);
                    """)
            for name in counterNames {
                try db.execute(
                    sql: "INSERT INTO counters (name, value) VALUES (?, ?)",
                    arguments: [name, name == "next_seq" ? 1 : 0])
            }
        }
        m.registerMigration("v2-sync") { db in
            try db.execute(
                sql: """
                    -- The batch being posted (persisted before its first post, so retries are byte-identical),
                    -- the downstream cursor and what the last answer said.
                    CREATE TABLE sync_state (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
                    -- Configuration set at the hub (LWW by (hlc, node)).
                    CREATE TABLE hub_config (
                        collection TEXT NOT NULL, key TEXT NOT NULL, field TEXT NOT NULL, value TEXT,
                        hlc INTEGER NOT NULL, node TEXT NOT NULL,
                        PRIMARY KEY (collection, key, field)
                    ) WITHOUT ROWID;
                    -- Alerts: status is the lattice open < acknowledged < resolved, note and assignee are LWW.
                    CREATE TABLE alerts (
                        alert_id TEXT PRIMARY KEY NOT NULL,
                        status INTEGER NOT NULL,
                        note TEXT, note_hlc INTEGER, note_node TEXT,
                        assignee TEXT, assignee_hlc INTEGER, assignee_node TEXT,
                        rule TEXT NOT NULL, severity TEXT NOT NULL, store_id TEXT NOT NULL, summary TEXT NOT NULL,
                        raised_hlc INTEGER NOT NULL, updated_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE erasures (subject TEXT PRIMARY KEY NOT NULL, hlc INTEGER NOT NULL) WITHOUT ROWID;
                    """)
            for name in syncCounterNames {
                try db.execute(sql: "INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", arguments: [name])
            }
        }
        m.registerMigration("v3-alerts") { db in
            try db.execute(
                sql: """
                    -- Alert updates waiting for the hub, numbered in the outbox's seq space (shared with events).
                    CREATE TABLE alert_outbox (seq INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, payload BLOB NOT NULL);
                    -- Alerts waiting for delivery to the store's webhook, retried with backoff until it answers 2xx.
                    CREATE TABLE webhook_queue (
                        id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, body BLOB NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT
                    );
                    """)
            for name in alertCounterNames {
                try db.execute(sql: "INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", arguments: [name])
            }
        }
        m.registerMigration("v4-model-versions") { db in
            // Which model scored the events from `first_seq` on: stored payloads leave the (repeated, ~40-byte)
            // model version out, and the batch builder puts it back from here.
            try db.execute(
                sql: "CREATE TABLE model_versions (first_seq INTEGER PRIMARY KEY, version TEXT NOT NULL) WITHOUT ROWID")
        }
        m.registerMigration("v5-event-identity") { db in
            // Producer idempotency by (occurred_at, event_id) instead of event_id alone: a group commit then
            // writes the few index pages of its time range, not one random page per event (RecentEventIDs).
            try db.execute(
                sql: """
                    DROP INDEX events_event_id;
                    CREATE UNIQUE INDEX events_identity ON events (occurred_at, event_id);
                    """)
        }
        m.registerMigration("v6-compact-rows") { db in
            // Stored rows got smaller (the single writer pays per byte): the payload leaves out event id and
            // occurred_at, kept in their columns anyway, and the taxonomy's themes are one-byte codes of
            // `theme_codes` (about 90 of ~290 bytes per enriched event were theme names). Rows written before
            // hold both inside the payload and read as they are.
            try db.execute(
                sql: """
                    ALTER TABLE events ADD COLUMN theme_codes BLOB;
                    -- Codes are never reused for another theme: a row decodes the same whatever the taxonomy is now.
                    CREATE TABLE theme_codes (
                        code INTEGER PRIMARY KEY CHECK (code BETWEEN 1 AND 255),
                        dimension TEXT NOT NULL, value TEXT NOT NULL,
                        UNIQUE (dimension, value)
                    );
                    """)
        }
        m.registerMigration("v7-raised-alerts-in-outbox") { db in
            // An alert raised at ingest is written once, to the outbox (appended, like the events), with what its
            // row needs; `alerts` gets it later in bulk (`BufferStore.materializeAlerts`). Inserted there by every
            // group commit, each commit rewrote the last pages of that text-keyed table: 49 more bytes written per
            // ingested event under the ingest benchmark (bench/live-ab.sh, 10 pairs), and 0.195 against 0.140 us of
            // the writer's CPU per event for the alerts (cx-bench enrich-path's writer stage, 4 pairs). Outbox rows
            // written before hold no columns: their alert is in `alerts` already.
            try db.execute(
                sql: """
                    ALTER TABLE alert_outbox ADD COLUMN rule TEXT;
                    ALTER TABLE alert_outbox ADD COLUMN severity TEXT;
                    ALTER TABLE alert_outbox ADD COLUMN store_id TEXT;
                    ALTER TABLE alert_outbox ADD COLUMN summary TEXT;
                    ALTER TABLE alert_outbox ADD COLUMN raised_hlc INTEGER;
                    ALTER TABLE alert_outbox ADD COLUMN raised_at INTEGER;
                    """)
            for name in materializationCounterNames {
                try db.execute(sql: "INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", arguments: [name])
            }
        }
        m.registerMigration("v8-webhook-abandoned") { db in
            try db.execute(sql: "INSERT OR IGNORE INTO counters (name, value) VALUES ('webhook_abandoned_total', 0)")
        }
        return m
    }

    /// The outbox seq up to which raised alerts are in `alerts`, and how many raised since are not.
    static let materializationCounterNames = ["alerts_materialized_through", "alerts_unmaterialized"]

    static let alertCounterNames = [
        "alerts_raised_total", "webhook_delivered_total", "webhook_failures_total", "erased_local_total",
    ]

    static let syncCounterNames = [
        "sync_batches_total", "sync_events_total", "sync_bytes_total", "sync_failures_total", "sync_stalls_total",
        "sync_refusals_total",
    ]
}
