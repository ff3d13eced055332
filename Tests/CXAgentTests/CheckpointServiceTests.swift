import CXAgent
import CXTestSupport
import Foundation
import GRDB
import Synchronization
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

    /// Under ingest that never lets the writer pause, the background rounds always finish while a transaction is
    /// open, and SQLite starts the WAL over only when a transaction begins with every frame copied. The service
    /// then copies the last frames from the writer's own queue: the WAL keeps starting over (its header's salt
    /// changes) instead of growing until SQLite's own checkpoint stalls a commit.
    @Test func theWALStartsOverWhileTheWriterNeverPauses() async throws {
        let dir = TempDir()
        let ingest = try BufferStoreTests.service(dir)
        let service = CheckpointService(
            store: ingest.store, interval: .milliseconds(10), restartFrames: 64, logger: testLogger)
        let wal = ingest.store.path + "-wal"
        func salt() -> [UInt8]? {
            guard let h = FileManager.default.contents(atPath: wal), h.count >= 32 else { return nil }
            return Array(h[16..<24])
        }
        // Until the WAL has started over a few times or 20,000 events are in (without the step on the writer's
        // queue it started over once in ~44,000 events on this machine, with it every ~400); no fixed duration, so
        // that a loaded machine only makes the test slower.
        let progress = Progress()
        let deadline = ContinuousClock.now + .seconds(120)
        let salts = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            for _ in 0..<4 {
                group.addTask {
                    while !progress.done {
                        let ids = (0..<50).map { _ in UUID() }
                        let r = try await ingest.ingest(body: TestEvents.ndjson(ids), contentType: nil)
                        #expect(r.accepted == 50)
                        progress.add(50)
                    }
                }
            }
            var salts: Set<[UInt8]> = []
            while !progress.done {
                if let s = salt() { salts.insert(s) }
                if salts.count >= 6 || progress.sent >= 20_000 || ContinuousClock.now > deadline { progress.finish() }
                try await Task.sleep(for: .milliseconds(2))
            }
            group.cancelAll()
            try await group.waitForAll()
            return salts
        }
        let sent = progress.sent
        #expect(salts.count >= 6, "the WAL started over \(salts.count - 1) times while \(sent) events were written")
        let stored = try await DatabaseQueue(path: ingest.store.path).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events")
        }
        #expect(stored == sent)
    }
}

/// Shared between the test's writers and its observer.
private final class Progress: Sendable {
    private let state = Mutex((sent: 0, done: false))
    var sent: Int { state.withLock { $0.sent } }
    var done: Bool { state.withLock { $0.done } }
    func add(_ n: Int) { state.withLock { $0.sent += n } }
    func finish() { state.withLock { $0.done = true } }
}
