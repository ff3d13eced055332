import Foundation
import GRDB
import GRDBSQLite

/// The event ids of the most recently stored events with their `occurred_at`, in memory.
///
/// The buffer's unique index is `(occurred_at, event_id)`: keyed by time, each group commit touches a few
/// index pages instead of one random page per event (random UUID keys wrote ~6x more WAL and cut durable
/// ingest by more than half). A producer's retry resends the same event, which that index finds at any age.
/// This window also catches a retry whose `ts` changed (a producer that stamps the send time), for the
/// events a retry can plausibly concern: the latest `capacity` ones. Bounded, so memory does not grow with
/// the backlog; refilled from the index's tail at start-up.
struct RecentEventIDs: Sendable {
    let capacity: Int
    /// Each id with its `occurred_at` and the ring slot of its latest insertion: an id stored again (after its
    /// local copy was evicted) must not be forgotten when its older slot is reused.
    private var entries: [UUID: (occurredAt: Int64, slot: Int)] = [:]
    private var ring: [UUID] = []
    private var head = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        entries.reserveCapacity(self.capacity)
        ring.reserveCapacity(self.capacity)
    }

    /// The `occurred_at` stored with `id`, when it is among the recent events.
    func occurredAt(of id: UUID) -> Int64? { entries[id]?.occurredAt }

    /// Records a newly stored event, forgetting the oldest one when full.
    mutating func insert(_ id: UUID, occurredAt time: Int64) {
        let slot: Int
        if ring.count < capacity {
            slot = ring.count
            ring.append(id)
        } else {
            slot = head
            let old = ring[slot]
            if entries[old]?.slot == slot { entries[old] = nil }
            ring[slot] = id
            head = (head + 1) % capacity
        }
        entries[id] = (time, slot)
    }

    /// The window as it was before a restart: the latest events by `occurred_at`, read from the covering index
    /// alone (a constant number of pages whatever the backlog). By event time rather than by arrival: a device
    /// whose clock runs ahead can take more of it than its share until new events arrive.
    static func load(_ db: Database, capacity: Int) throws -> RecentEventIDs {
        var window = RecentEventIDs(capacity: capacity)
        let statement = try db.makeStatement(
            sql: "SELECT event_id, occurred_at FROM events INDEXED BY events_identity "
                + "ORDER BY occurred_at DESC, event_id DESC LIMIT ?")
        try statement.setArguments([capacity])
        // Read through the C API: GRDB's Row cursor costs more than the index scan itself.
        let s = statement.sqliteStatement
        var loaded: [(UUID, Int64)] = []
        loaded.reserveCapacity(capacity)
        var rc = sqlite3_step(s)
        while rc == SQLITE_ROW {
            if sqlite3_column_bytes(s, 0) == 16, let blob = sqlite3_column_blob(s, 0) {
                let id = UUID(uuid: UnsafeRawPointer(blob).loadUnaligned(as: uuid_t.self))
                loaded.append((id, sqlite3_column_int64(s, 1)))
            }
            rc = sqlite3_step(s)
        }
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: rc),
                message: "reading the recent event ids: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
        }
        for (id, time) in loaded.reversed() { window.insert(id, occurredAt: time) }
        return window
    }
}
