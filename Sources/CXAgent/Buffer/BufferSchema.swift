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
                try db.execute(sql: "INSERT INTO counters (name, value) VALUES (?, ?)", arguments: [name, name == "next_seq" ? 1 : 0])
            }
        }
        return m
    }
}
