import CXTestSupport
import GRDB
import Testing

@testable import CXHub

/// The hub acknowledges a batch only once its merge is fsynced: its writer commits with `synchronous = FULL`, which
/// GRDB's DatabasePool replaces with NORMAL unless the store sets it again.
@Suite("Hub durability")
struct HubDurabilityTests {
    @Test func theHubWriterFsyncsEveryCommitOnANewAndAReopenedDatabase() async throws {
        let dir = TempDir()
        let path = dir.path + "/hub.sqlite"
        do {
            let store = try HubStore.open(path: path)
            #expect(try await Self.synchronous(store) == 2)
            try store.close()
        }
        #expect(try await Self.synchronous(try HubStore.open(path: path)) == 2)
    }

    static func synchronous(_ store: HubStore) async throws -> Int? {
        try await store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    }
}
