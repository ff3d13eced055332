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
public struct RecentEventIDs: Sendable {
    public let capacity: Int
    // An open-addressing table (linear probing, at most half full) of the ids with their `occurred_at` and the
    // ring slot of their latest insertion, and the ring of ids in insertion order. It replaced a
    // `[UUID: (Int64, Int)]`: SipHash of 16 bytes, three times per stored event on the single writer's path,
    // was about a third of the writer's CPU per event (`cx-bench enrich-path`, writer stage). One entry per bucket
    // (32 bytes, two to a cache line) rather than a column per field: the table is megabytes, so each probe of a
    // bucket missed the cache once per column read, three or four times per lookup, and those misses were most
    // of the window's cost under ingest.
    private var buckets: [Bucket]
    private var ring: [ID] = []
    private var head = 0
    private let mask: Int

    struct ID: Equatable {
        var hi: UInt64
        var lo: UInt64
    }

    struct Bucket {
        var id = ID(hi: 0, lo: 0)
        var time: Int64 = 0
        /// The ring slot of the entry's latest insertion; -1 marks an empty bucket.
        var slot: Int64 = -1
    }

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        var size = 16
        while size < 2 * self.capacity { size <<= 1 }
        mask = size - 1
        buckets = Array(repeating: Bucket(), count: size)
        ring.reserveCapacity(self.capacity)
    }

    /// The number of ids remembered.
    public var count: Int { buckets.count { $0.slot >= 0 } }

    /// The `occurred_at` stored with `id`, when it is among the recent events.
    public func occurredAt(of id: UUID) -> Int64? {
        buckets.withUnsafeBufferPointer { b in Self.find(Self.parts(id), b, mask).map { b[$0].time } }
    }

    /// Records a newly stored event, forgetting the oldest one when full.
    public mutating func insert(_ id: UUID, occurredAt time: Int64) {
        let key = Self.parts(id)
        let mask = mask  // read before the buffers are borrowed for writing
        let slot: Int
        if ring.count < capacity {
            slot = ring.count
            ring.append(key)
        } else {
            slot = head
            let old = ring[slot]
            ring[slot] = key
            head = (head + 1) % capacity
            // An id stored again (after its local copy was evicted) must not be forgotten when its older slot
            // is reused: only the entry whose latest insertion is this slot goes.
            buckets.withUnsafeMutableBufferPointer { b in
                if let i = Self.find(old, UnsafeBufferPointer(b), mask), b[i].slot == Int64(slot) {
                    Self.remove(at: i, b, mask)
                }
            }
        }
        buckets.withUnsafeMutableBufferPointer { b in
            b[Self.probe(key, UnsafeBufferPointer(b), mask)] = Bucket(id: key, time: time, slot: Int64(slot))
        }
    }

    @inline(__always) static func parts(_ id: UUID) -> ID {
        withUnsafeBytes(of: id.uuid) {
            ID(hi: $0.loadUnaligned(as: UInt64.self), lo: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    /// Producers' ids need not be random (sequential test ids, UUIDv7 time prefixes): mix both halves.
    @inline(__always) static func home(_ id: ID, _ mask: Int) -> Int {
        var x = id.hi &* 0x9E37_79B9_7F4A_7C15 ^ id.lo
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: x ^ (x >> 29)) & mask
    }

    /// The bucket holding `key`, or the empty one where probing for it stops.
    private static func probe(_ key: ID, _ b: UnsafeBufferPointer<Bucket>, _ mask: Int) -> Int {
        var i = home(key, mask)
        while b[i].slot >= 0 && b[i].id != key { i = (i + 1) & mask }
        return i
    }

    private static func find(_ key: ID, _ b: UnsafeBufferPointer<Bucket>, _ mask: Int) -> Int? {
        let i = probe(key, b, mask)
        return b[i].slot >= 0 ? i : nil
    }

    /// Backward-shift deletion: later entries of the probe run move up, so that no lookup stops early.
    private static func remove(at bucket: Int, _ b: UnsafeMutableBufferPointer<Bucket>, _ mask: Int) {
        var hole = bucket
        var j = bucket
        while true {
            j = (j + 1) & mask
            guard b[j].slot >= 0 else { break }
            let k = home(b[j].id, mask)
            // The entry at j may fill the hole when its home is not in the cyclic range (hole, j].
            if (j - k) & mask >= (j - hole) & mask {
                b[hole] = b[j]
                hole = j
            }
        }
        b[hole].slot = -1
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
