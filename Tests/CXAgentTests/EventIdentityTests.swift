@testable import CXAgent
import CXCore
import CXTestSupport
import Foundation
import GRDB
import Testing

/// Producer idempotency on the time-keyed index and the window of recent ids (RecentEventIDs).
@Suite("Event identity")
struct EventIdentityTests {
    static func service(_ dir: TempDir) throws -> IngestService {
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        let buffer = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        return try IngestService(store: buffer, configuration: c)
    }

    @Test func anIdStoredAgainIsNotForgottenWhenItsOlderSlotIsReused() {
        var w = RecentEventIDs(capacity: 3)
        let x = UUID(), a = UUID(), b = UUID()
        w.insert(x, occurredAt: 1)
        w.insert(x, occurredAt: 1)  // stored again (e.g. after its synced copy was evicted)
        w.insert(a, occurredAt: 2)
        w.insert(b, occurredAt: 3)  // x is among the latest 3 inserts
        #expect(w.occurredAt(of: x) == 1)
        w.insert(a, occurredAt: 4)
        w.insert(b, occurredAt: 5)
        #expect(w.occurredAt(of: x) == nil, "x has left the ring now")
        #expect(w.occurredAt(of: a) == 4)
    }

    @Test func aVersion4BufferWithDataMigratesToTheTimeKeyedIndex() async throws {
        let dir = TempDir()
        let path = dir.path + "/buffer.sqlite"
        let ids = (0..<1000).map { _ in UUID() }
        do {
            let pool = try DatabasePool(path: path)
            try BufferSchema.migrator.migrate(pool, upTo: "v4-model-versions")
            try await pool.write { db in
                for (i, id) in ids.enumerated() {
                    try db.execute(
                        sql:
                            "INSERT INTO events (seq, event_id, occurred_at, type, hlc, payload) VALUES (?, ?, ?, ?, ?, ?)",
                        arguments: [
                            i + 1, withUnsafeBytes(of: id.uuid) { Data($0) }, 1_704_067_200_000 + Int64(i),
                            "survey.nps", i + 1, Data([1, 2, 3]),
                        ])
                }
                try db.execute(sql: "UPDATE counters SET value = 1001 WHERE name = 'next_seq'")
            }
            try pool.close()
        }
        let ingest = try Self.service(dir)
        let indexes = try await ingest.store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
        }
        #expect(indexes == ["events_identity"])
        let same = try await ingest.ingest(
            body: Array(TestEvents.json(id: ids[5], ts: 1_704_067_200_005).utf8), contentType: nil)
        #expect(same.results.map(\.status) == [.duplicate])
        let restamped = try await ingest.ingest(
            body: Array(TestEvents.json(id: ids[6], ts: 1_704_099_999_000).utf8), contentType: nil)
        #expect(restamped.results.map(\.status) == [.duplicate])
        let fresh = try await ingest.ingest(body: TestEvents.ndjson([UUID()]), contentType: nil)
        #expect(fresh.results.first?.seq == 1001)
    }

    /// A damaged page in the tail of events_identity that the start-up probe does not read, but the window's
    /// load does: the buffer is salvaged into a new epoch instead of refusing to start.
    @Test func damageInTheIdentityIndexTailIsRecovered() async throws {
        let dir = TempDir()
        do {
            let ingest = try Self.service(dir)
            for chunk in 0..<70 {
                let body = (0..<1000).map { i in TestEvents.json(ts: 1_704_067_200_000 + Int64(chunk * 1000 + i)) }
                _ = try await ingest.ingest(body: Array(body.joined(separator: "\n").utf8), contentType: nil)
            }
            try ingest.store.close()
        }
        let path = dir.path + "/buffer.sqlite"
        let dq = try DatabaseQueue(path: path)
        let (page, pageSize) = try dq.inDatabase { db -> (Int64, Int64) in
            let leaves = try Int64.fetchAll(
                db, sql: "SELECT pageno FROM dbstat WHERE name = 'events_identity' AND pagetype = 'leaf' ORDER BY path")
            return (leaves[leaves.count - 20], try Int64.fetchOne(db, sql: "PRAGMA page_size")!)
        }
        try dq.close()
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seek(toOffset: UInt64((page - 1) * pageSize))
        h.write(Data(repeating: 0xFF, count: Int(pageSize)))
        try h.close()
        var opened: BufferStore?
        var failure: (any Error)?
        do { opened = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger) } catch {
            failure = error
        }
        #expect(failure == nil, "open failed instead of recovering: \(String(describing: failure))")
        #expect(opened?.recovery != nil)
    }
}
