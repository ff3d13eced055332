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
    // was about a third of the writer's CPU per event (`cx-bench enrich-path`, writer stage).
    private var hi: [UInt64]
    private var lo: [UInt64]
    private var times: [Int64]
    /// The ring slot of the entry's latest insertion; -1 marks an empty bucket.
    private var slots: [Int32]
    private var ringHi: [UInt64] = []
    private var ringLo: [UInt64] = []
    private var head = 0
    private let mask: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        var size = 16
        while size < 2 * self.capacity { size <<= 1 }
        mask = size - 1
        hi = Array(repeating: 0, count: size)
        lo = Array(repeating: 0, count: size)
        times = Array(repeating: 0, count: size)
        slots = Array(repeating: -1, count: size)
        ringHi.reserveCapacity(self.capacity)
        ringLo.reserveCapacity(self.capacity)
    }

    /// The number of ids remembered.
    public var count: Int { slots.count { $0 >= 0 } }

    /// The `occurred_at` stored with `id`, when it is among the recent events.
    public func occurredAt(of id: UUID) -> Int64? {
        let (h, l) = Self.parts(id)
        return find(h, l).map { times[$0] }
    }

    /// Records a newly stored event, forgetting the oldest one when full.
    public mutating func insert(_ id: UUID, occurredAt time: Int64) {
        let (h, l) = Self.parts(id)
        let slot: Int
        if ringHi.count < capacity {
            slot = ringHi.count
            ringHi.append(h)
            ringLo.append(l)
        } else {
            slot = head
            // An id stored again (after its local copy was evicted) must not be forgotten when its older slot
            // is reused: only the entry whose latest insertion is this slot goes.
            if let b = find(ringHi[slot], ringLo[slot]), slots[b] == Int32(slot) { remove(at: b) }
            ringHi[slot] = h
            ringLo[slot] = l
            head = (head + 1) % capacity
        }
        var b = home(h, l)
        while slots[b] >= 0 && !(hi[b] == h && lo[b] == l) { b = (b + 1) & mask }
        hi[b] = h
        lo[b] = l
        times[b] = time
        slots[b] = Int32(slot)
    }

    @inline(__always) static func parts(_ id: UUID) -> (UInt64, UInt64) {
        withUnsafeBytes(of: id.uuid) {
            ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    /// Producers' ids need not be random (sequential test ids, UUIDv7 time prefixes): mix both halves.
    @inline(__always) func home(_ h: UInt64, _ l: UInt64) -> Int {
        var x = h &* 0x9E37_79B9_7F4A_7C15 ^ l
        x = (x ^ (x >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: x ^ (x >> 29)) & mask
    }

    private func find(_ h: UInt64, _ l: UInt64) -> Int? {
        var b = home(h, l)
        while slots[b] >= 0 {
            if hi[b] == h && lo[b] == l { return b }
            b = (b + 1) & mask
        }
        return nil
    }

    /// Backward-shift deletion: later entries of the probe run move up, so that no lookup stops early.
    private mutating func remove(at bucket: Int) {
        var hole = bucket
        var j = bucket
        while true {
            j = (j + 1) & mask
            guard slots[j] >= 0 else { break }
            let k = home(hi[j], lo[j])
            // The entry at j may fill the hole when its home is not in the cyclic range (hole, j].
            if (j - k) & mask >= (j - hole) & mask {
                hi[hole] = hi[j]
                lo[hole] = lo[j]
                times[hole] = times[j]
                slots[hole] = slots[j]
                hole = j
            }
        }
        slots[hole] = -1
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
