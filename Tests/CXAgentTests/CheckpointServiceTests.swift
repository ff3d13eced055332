import CXAgent
import CXTestSupport
import Foundation
import GRDB
import Testing

@Suite struct CheckpointServiceTests {
    /// The background checkpoint copies the whole WAL from a connection of its own, and the writer's next
    /// transaction then starts the WAL over: the WAL stays short although the writer never checkpoints.
    @Test func aBackgroundCheckpointLetsTheWriterStartTheWALOver() async throws {
        let dir = TempDir()
        let ingest = try BufferStoreTests.service(dir)
        var ids: [UUID] = []
        for _ in 0..<10 {
            let batch = (0..<200).map { _ in UUID() }
            ids += batch
            #expect(try await ingest.ingest(body: TestEvents.ndjson(batch), contentType: nil).accepted == 200)
        }
        let checkpointer = try DatabaseQueue(path: ingest.store.path)
        let first = try await checkpointer.writeWithoutTransaction { db in try CheckpointService.catchUp(db) }
        #expect(first.frames > 0)
        #expect(first.copied == first.frames, "an idle writer leaves nothing behind: \(first)")
        let last = (0..<50).map { _ in UUID() }
        #expect(try await ingest.ingest(body: TestEvents.ndjson(last), contentType: nil).accepted == 50)
        let second = try await checkpointer.writeWithoutTransaction { db in try CheckpointService.catchUp(db) }
        #expect(second.frames < first.frames, "the WAL should have started over: \(first) then \(second)")
        #expect(second.copied == second.frames)
        try checkpointer.close()
        // Everything is in the main file now: a copy of it alone, without the WAL, holds every event.
        let copy = dir.path + "/main-only.sqlite"
        try FileManager.default.copyItem(atPath: ingest.store.path, toPath: copy)
        let count = try await DatabaseQueue(path: copy).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events")
        }
        #expect(count == 2050)
    }
}
