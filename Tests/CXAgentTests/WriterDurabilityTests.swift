@testable import CXAgent
import CXTestSupport
import Foundation
import GRDB
import Testing

/// Acknowledged means fsynced: the writer commits with `synchronous = FULL`, which GRDB's DatabasePool replaces with
/// NORMAL (no fsync per WAL commit) unless the store sets it again.
@Suite("Writer durability")
struct WriterDurabilityTests {
    @Test func theWriterFsyncsEveryCommitBeforeAndAfterAnIngestAndAcrossARestart() async throws {
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        do {
            let buffer = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
            #expect(try await Self.synchronous(buffer) == 2, "FULL on a new buffer")
            let ingest = try IngestService(store: buffer, configuration: c)
            let r = try await ingest.ingest(body: TestEvents.ndjson([UUID(), UUID()]), contentType: nil)
            #expect(r.accepted == 2)
            #expect(try await Self.synchronous(buffer) == 2, "FULL on the connection that committed")
            try buffer.close()
        }
        let reopened = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        #expect(try await Self.synchronous(reopened) == 2, "FULL on a reopened buffer")
    }

    /// The writer connection's `synchronous` level (0 OFF, 1 NORMAL, 2 FULL).
    static func synchronous(_ store: BufferStore) async throws -> Int? {
        try await store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    }
}
