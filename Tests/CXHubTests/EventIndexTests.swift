import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Logging
import Testing

@testable import CXHub

/// The hub's event indexes are keyed by store first (migration v3): a re-sent event is still found, queries over
/// all stores still answer from the indexes, and a database from before the migration keeps all its events.
@Suite("Hub event indexes keyed by store")
struct EventIndexTests {
    static let base = Int64(1_780_000_000_000)

    static func agent(_ store: HubStore, _ storeID: String) async throws -> TestAgent {
        let agent = TestAgent(agentID: "agent-\(storeID)", store: storeID, key: AgentSigningKey())
        let token = try store.issueEnrollmentToken(store: storeID, device: "kiosk", ttl: .seconds(60))
        _ = try await store.enroll(
            token: token.token, agentID: agent.agentID, publicKey: agent.key.publicKey.rawRepresentation)
        return agent
    }

    /// A hub in `dir` and its sync endpoint, which takes events of any age.
    static func hub(_ dir: TempDir) throws -> (HubStore, SyncEndpoint) {
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        return (
            store,
            SyncEndpoint(store: store, policy: MergePolicy(maxDriftMillis: .max / 4), logger: Logger(label: "test"))
        )
    }

    /// `count` events of `agent` one minute apart, starting `offset` minutes after `base`.
    static func events(_ agent: TestAgent, count: Int, offset: Int, seq: UInt64) -> [SequencedEvent] {
        (0..<count).map { i in
            var e = agent.event(seq: seq + UInt64(i), customer: "cust-\(i % 3)")
            e.event.occurredAt = base + Int64(offset + i) * 60_000
            e.event.hlc = HLCTimestamp(wallMillis: e.event.occurredAt, counter: 0)
            e.event.channel = i.isMultiple(of: 2) ? .kiosk : .web
            return e
        }
    }

    /// The hub's tombstones, kept forever and sent to every store, hold only the keyed hash (DESIGN.md): an erasure
    /// by identifier deletes the events stored under the identifier itself (agents without enrichment) too, and later
    /// such events are known by their hash and dropped.
    @Test("an identifier is erased under its keyed hash alone; its unhashed events go now and when they come later")
    func unhashedIdentifierIsErasedUnderItsHash() async throws {
        let dir = TempDir()
        let (store, endpoint) = try Self.hub(dir)
        let a = try await Self.agent(store, "store-a")
        let first = Self.events(a, count: 30, offset: 0, seq: 1)
        #expect(await endpoint.handle(a.frame(a.batch(1...30, events: first))).status == 200)
        let key = try #require(store.customerKey(for: "cust-1"))
        #expect(key != "cust-1")
        #expect(try await store.erase(subject: key, unhashed: "cust-1") == 10)
        let subjects = try await store.pool.read { try String.fetchAll($0, sql: "SELECT subject FROM erasures") }
        #expect(subjects == [key])
        #expect(try await store.eventTotal() == 20)
        let later = Self.events(a, count: 30, offset: 30, seq: 31)
        #expect(await endpoint.handle(a.frame(a.batch(31...60, events: later))).status == 200)
        #expect(try await store.eventTotal() == 40)
        #expect(try await store.customerTimeline("cust-1", limit: 1000).isEmpty)
        #expect(try await store.customerTimeline("cust-0", limit: 1000).count == 20)
        try store.close()
    }

    /// A hub before 7936a9e also tombstoned the raw identifier: opened again, it keeps only the hash, and the raw
    /// tombstone leaves the downstream stream that agents read.
    @Test("raw-identifier tombstones of an older hub give way to their hash when the hub opens")
    func rawTombstonesGiveWayToTheirHash() async throws {
        let dir = TempDir()
        let old = try HubStore.open(path: dir.path + "/hub.sqlite")
        let key = try #require(old.customerKey(for: "cust-1"))
        // what the erase endpoint did before: the hash, then the identifier itself
        _ = try await old.erase(subject: key)
        _ = try await old.erase(subject: "cust-1")
        // an identifier tombstoned alone (its hash never recorded)
        _ = try await old.erase(subject: "cust-2")
        let key2 = try #require(old.customerKey(for: "cust-2"))
        try old.close()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let (subjects, streamed) = try await store.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT subject FROM erasures ORDER BY subject"),
                try store.downstream(db, after: 0, store: "store-a", limit: 100).erasures.map(\.subject)
            )
        }
        #expect(subjects == [key, key2].sorted())
        #expect(streamed == [key, key2])
        #expect(try await store.pool.write { try store.hashRawTombstones($0) } == 0)
        try store.close()
    }

    @Test("interleaved stores merge once, a re-send under a new epoch is not stored twice, erasure finds every store")
    func interleavedStoresAndResend() async throws {
        let dir = TempDir()
        let (store, endpoint) = try Self.hub(dir)
        let a = try await Self.agent(store, "store-a")
        let b = try await Self.agent(store, "store-b")
        // Both stores cover the same minutes, so their events interleave in time.
        let ea = Self.events(a, count: 40, offset: 0, seq: 1)
        let eb = Self.events(b, count: 40, offset: 0, seq: 1)
        #expect(await endpoint.handle(a.frame(a.batch(1...40, events: ea))).status == 200)
        #expect(await endpoint.handle(b.frame(b.batch(1...40, events: eb))).status == 200)
        #expect(try await store.eventTotal() == 80)

        // The agent restarts in a new epoch (say its buffer was restored) and sends its last ten events again.
        var again = a
        again.epoch = 2
        let resent = ea.suffix(10).enumerated().map {
            SequencedEvent(seq: UInt64($0.offset + 1), event: $0.element.event)
        }
        #expect(await endpoint.handle(again.frame(again.batch(1...10, events: resent))).status == 200)
        #expect(try await store.eventTotal() == 80)

        // Counts over all stores and one store, in a window that cuts both stores' minutes in half.
        let all = try await store.eventCounts(since: Self.base, until: Self.base + 20 * 60_000, store: nil)
        #expect(all.map(\.store) == ["store-a", "store-a", "store-b", "store-b"])
        #expect(all.reduce(0) { $0 + $1.events } == 40)
        let one = try await store.eventCounts(since: nil, until: nil, store: "store-b")
        #expect(Set(one.map(\.store)) == ["store-b"])
        #expect(one.reduce(0) { $0 + $1.events } == 40)

        // A timeline spans the hub's whole time range across stores.
        let timeline = try await store.customerTimeline("cust-0", limit: 1000)
        #expect(timeline.count == 28)
        #expect(Set(timeline.map(\.store)) == ["store-a", "store-b"])

        // An erasure finds the customer's events in every store through the same index, and only them.
        #expect(try await store.erase(subject: "cust-1") == 26)
        #expect(try await store.customerTimeline("cust-1", limit: 1000).isEmpty)
        #expect(try await store.customerTimeline("cust-0", limit: 1000).count == 28)
        #expect(try await store.eventTotal() == 54)
        try store.close()
    }

    /// A page of a unified customer's timeline reads at most a page of each linked identifier's events, and still
    /// holds the oldest of them all, in order.
    @Test("a timeline page of linked identifiers holds the oldest events of them all, in time order")
    func timelinePageAcrossLinkedIdentifiers() async throws {
        let dir = TempDir()
        let (store, endpoint) = try Self.hub(dir)
        let a = try await Self.agent(store, "store-a")
        // cust-0 at minutes 0, 3, 6, ...; cust-1 at 1, 4, 7, ...; cust-2 at 2, 5, 8, ...
        var batch = a.batch(1...31, events: Self.events(a, count: 30, offset: 0, seq: 1))
        var link = Cxsync_V1_IdentityLink()
        link.seq = 31
        link.a = "cust-1"
        link.b = "cust-0"
        batch.identityLinks = [link]
        #expect(await endpoint.handle(a.frame(batch)).status == 200)
        let page = try await store.customerTimeline("cust-0", limit: 7)
        #expect(page.map(\.occurredAt) == [0, 1, 3, 4, 6, 7, 9].map { HubStore.iso(Self.base + Int64($0) * 60_000) })
        #expect(page.map(\.customerID) == ["cust-0", "cust-1", "cust-0", "cust-1", "cust-0", "cust-1", "cust-0"])
        #expect(try await store.customerTimeline("cust-1", limit: 100).count == 20)
        try store.close()
    }

    /// Timelines and erasures seek once per (store, day) of `customer_days`, the days some event names a customer on;
    /// a store's events decades apart (a kiosk with a bad clock) add two days, not every day between them.
    @Test("a customer's events decades apart are found and erased; the hub visits only days that have such events")
    func eventsDecadesApart() async throws {
        let dir = TempDir()
        let (store, endpoint) = try Self.hub(dir)
        let a = try await Self.agent(store, "store-a")
        let b = try await Self.agent(store, "store-b")
        #expect(
            await endpoint.handle(a.frame(a.batch(1...6, events: Self.events(a, count: 6, offset: 0, seq: 1)))).status
                == 200)
        let early = Int64(946_857_600_000)  // 2000-01-03
        let late = Int64(4_084_300_800_000)  // 2099-06-05
        var far = [b.event(seq: 1, customer: "cust-0"), b.event(seq: 2, customer: "cust-0"), b.event(seq: 3)]
        for (i, t) in [early, late, late].enumerated() {
            far[i].event.occurredAt = t
            far[i].event.hlc = HLCTimestamp(wallMillis: Self.base, counter: UInt16(i))
        }
        #expect(await endpoint.handle(b.frame(b.batch(1...3, events: far))).status == 200)
        let days = try await store.pool.read {
            try Int64.fetchAll($0, sql: "SELECT day FROM customer_days ORDER BY day")
        }
        #expect(days == [early / 86_400_000, Self.base / 86_400_000, late / 86_400_000])

        let timeline = try await store.customerTimeline("cust-0", limit: 100)
        #expect(timeline.map(\.occurredAt).first == HubStore.iso(early))
        #expect(timeline.map(\.occurredAt).last == HubStore.iso(late))
        #expect(timeline.count == 4 && Set(timeline.map(\.store)) == ["store-a", "store-b"])
        #expect(try await store.erase(subject: "cust-0") == 4)
        #expect(try await store.customerTimeline("cust-0", limit: 100).isEmpty)
        #expect(try await store.eventTotal() == 5)
        try store.close()
    }

    @Test("a database from before customer_days gets the days of its events, and its timelines find them")
    func customerDaysMigration() async throws {
        let dir = TempDir()
        let path = dir.path + "/hub.sqlite"
        let old = try DatabaseQueue(path: path)
        try HubSchema.migrator.migrate(old, upTo: "v3-event-identity-by-store")
        try await old.write { db in
            for (i, day) in [Int64(11_000), 20_000, 20_000, 30_000].enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO events (event_id, agent_id, epoch, seq, store_id, device_id, channel, type,
                            occurred_at, hlc, day, received_at, customer_id)
                        VALUES (?, 'agent-x', 1, ?, 'store-x', 'kiosk-01', 'kiosk', 'feedback', ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        Data(withUnsafeBytes(of: UUID().uuid) { Array($0) }), i + 1, day * 86_400_000 + Int64(i),
                        Self.base, day, Self.base, i == 3 ? nil : "cust-9",
                    ])
            }
        }
        try old.close()

        let store = try HubStore.open(path: path)
        let days = try await store.pool.read {
            try Int64.fetchAll($0, sql: "SELECT day FROM customer_days ORDER BY day")
        }
        #expect(days == [11_000, 20_000])
        #expect(try await store.customerTimeline("cust-9", limit: 100).count == 3)
        try store.close()
    }

    /// A unified customer is at most 64 identifiers: one linked to hundreds of others (links come from stores) reads
    /// no more than that, and its timeline still answers.
    @Test("a customer linked to 300 identifiers is unified as at most 64 of them")
    func linkedIdentifiersAreBounded() async throws {
        let dir = TempDir()
        let (store, _) = try Self.hub(dir)
        try await store.pool.write { db in
            for i in 0..<300 {
                try db.execute(sql: "INSERT INTO identity_links (a, b) VALUES ('hub-cust', ?)", arguments: ["c\(i)"])
            }
            try db.execute(sql: "INSERT INTO identity_links (a, b) VALUES ('c7', 'c7-other')")
        }
        let ids = try await store.pool.read { try store.linkedIdentifiers($0, of: "hub-cust") }
        #expect(ids.count == 64 && ids.first == "hub-cust" && Set(ids).count == 64)
        let small = try await store.pool.read { try store.linkedIdentifiers($0, of: "c7-other") }
        #expect(small.count == 64 && small.prefix(3) == ["c7-other", "c7", "hub-cust"])
        #expect(try await store.customerTimeline("hub-cust", limit: 10).isEmpty)
        try store.close()
    }

    /// The hub's database holds the fleet key: it and the files SQLite creates beside it are for the hub's user only.
    @Test("the hub's database, its WAL and shared memory are private (0600)")
    func databaseFilesArePrivate() async throws {
        let dir = TempDir()
        let path = dir.path + "/hub.sqlite"
        let (store, endpoint) = try Self.hub(dir)
        let a = try await Self.agent(store, "store-a")
        #expect(await endpoint.handle(a.frame(a.batch(1...1))).status == 200)
        for file in [path, path + "-wal", path + "-shm"] {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file): \(String(mode ?? -1, radix: 8))")
        }
        try store.close()
    }

    @Test("a database from before the store-first identity index keeps its events and their uniqueness")
    func migrationKeepsEvents() async throws {
        let dir = TempDir()
        let path = dir.path + "/hub.sqlite"
        let old = try DatabaseQueue(path: path)
        try HubSchema.migrator.migrate(old, upTo: "v2-customer-index-by-store")
        try await old.write { db in
            for i in 0..<25 {
                try db.execute(
                    sql: """
                        INSERT INTO events (event_id, agent_id, epoch, seq, store_id, device_id, channel, type,
                            occurred_at, hlc, day, received_at)
                        VALUES (?, 'agent-x', 1, ?, 'store-x', 'store-x-kiosk-01', 'kiosk', 'survey_nps', ?, ?, ?, ?)
                        """,
                    arguments: [
                        Data(withUnsafeBytes(of: UUID().uuid) { Array($0) }), i + 1, Self.base + Int64(i),
                        Self.base + Int64(i), Self.base / 86_400_000, Self.base,
                    ])
            }
        }
        try old.close()

        let store = try HubStore.open(path: path)
        #expect(try await store.eventTotal() == 25)
        let (columns, duplicateRefused) = try await store.pool.write { db in
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info('events_identity')")
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO events (event_id, agent_id, epoch, seq, store_id, device_id, channel, type,
                        occurred_at, hlc, day, received_at)
                    SELECT event_id, agent_id, 2, seq, store_id, device_id, channel, type, occurred_at, hlc, day,
                        received_at FROM events
                    """)
            return (columns, db.changesCount == 0)
        }
        #expect(columns == ["store_id", "occurred_at", "event_id"])
        #expect(duplicateRefused)
        #expect(try await store.eventTotal() == 25)
        try store.close()
    }
}
