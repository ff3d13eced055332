import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Logging
import Synchronization
import Testing

@testable import CXHub

/// A failure of the hub itself answers with what failed and a reference; the cause (SQL, paths) goes to the hub's log
/// under the same reference, never to the caller.
@Suite("Internal failures of the hub")
struct InternalErrorTests {
    /// Keeps every log record's message and metadata.
    final class Records: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct Capture: LogHandler {
        let records: Records
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
            function: String, line: UInt
        ) {
            records.lines.withLock { $0.append((message.description, metadata ?? [:])) }
        }
    }

    @Test("a failed merge transaction answers with a reference, and only the log holds the database's error")
    func mergeFailureKeepsItsCauseInTheLog() async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let records = Records()
        let endpoint = SyncEndpoint(
            store: store, policy: MergePolicy(maxDriftMillis: .max / 4),
            logger: Logger(label: "test") { _ in Capture(records: records) })
        let a = try await EventIndexTests.agent(store, "store-a")
        try await store.pool.write { try $0.execute(sql: "DROP TABLE batches") }

        let reply = await endpoint.handle(a.frame(a.batch(1...1, events: [a.event(seq: 1)])))
        #expect(reply.status == 500)
        let error = try AgentWriteScopeTests.error(reply)
        #expect(error.code == "internal")
        let pattern = /merge transaction failed \(reference ([0-9a-f]{1,8}); the hub's log has the cause\)/
        let match = try #require(try pattern.wholeMatch(in: error.message), "\(error.message)")
        #expect(!error.message.contains("batches") && !error.message.contains("SQL"))

        let logged = try #require(records.lines.withLock { $0.last })
        #expect(logged.message == "sync failed")
        #expect(logged.metadata["error"]?.description == error.message)
        #expect(logged.metadata["cause"]?.description.contains("no such table: batches") == true)
        #expect(logged.metadata["error"]?.description.contains(String(match.1)) == true)
        try store.close()
    }
}
