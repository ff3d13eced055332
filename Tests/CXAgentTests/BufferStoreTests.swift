@testable import CXAgent
import CXConfiguration
import CXCore
import CXInsight
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import SwiftProtobuf
import ServiceLifecycle
import Testing

@Suite("Durable buffer")
struct BufferStoreTests {
    static func service(
        _ dir: TempDir, quota: Int64 = 1 << 30, store: String = "", enriched: Bool = true, enrolled: Bool = false
    ) throws -> IngestService {
        if enrolled { try enroll(dir) }
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        c.quotaBytes = quota
        c.storeID = store
        c.enrichmentEnabled = enriched
        let buffer = try BufferStore.open(directory: dir.path, quotaBytes: quota, logger: testLogger)
        return try IngestService(store: buffer, configuration: c)
    }

    /// An acknowledgement of the events through `seq` that brings down the erasure of `subject`.
    static func ackErasing(_ subject: String, through seq: UInt64, _ store: BufferStore) async throws {
        var erasure = Cxsync_V1_Erasure()
        erasure.subject = subject
        erasure.hlc = 1
        var downstream = Cxsync_V1_Downstream()
        downstream.erasures = [erasure]
        try await store.commitAck(
            highWaterMark: seq, downstream: downstream, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
    }

    /// The buffer holds the store's events and customer keys: a new data directory is the agent's user's only
    /// (0700), and the database and the files SQLite creates beside it are 0600, whatever the umask.
    @Test func bufferFilesArePrivate() async throws {
        let dir = TempDir()
        let data = dir.path + "/agent"
        var c = AgentConfiguration()
        c.dataDirectory = data
        let ingest = try IngestService(
            store: try BufferStore.open(directory: data, quotaBytes: 1 << 30, logger: testLogger), configuration: c)
        #expect(
            try await ingest.ingest(body: TestEvents.ndjson(customers: ["a@example.com"]), contentType: nil).accepted
                == 1)
        func mode(_ path: String) throws -> Int? {
            try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        }
        #expect(try mode(data) == 0o700)
        for file in ["buffer.sqlite", "buffer.sqlite-wal", "buffer.sqlite-shm"] {
            #expect(try mode(data + "/" + file) == 0o600, "\(file)")
        }
        try ingest.store.close()
    }

    @Test func concurrentRequestsGetGapFreeSeqsAndDuplicatesAreNoOps() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        let batches = (0..<40).map { _ in (0..<25).map { _ in UUID() } }
        let responses = try await withThrowingTaskGroup(of: IngestResponse.self) { group in
            for ids in batches {
                group.addTask { try await ingest.ingest(body: TestEvents.ndjson(ids), contentType: nil) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let seqs = responses.flatMap { $0.results.compactMap(\.seq) }.sorted()
        #expect(seqs == Array(1...1000))
        let again = try await ingest.ingest(body: TestEvents.ndjson(batches[3]), contentType: nil)
        #expect(again.duplicates == 25 && again.accepted == 0)
        let stats = try await ingest.store.stats()
        #expect(stats.lastSeq == 1000 && stats.storedEvents == 1000 && stats.duplicatesTotal == 25)
        let commits = ingest.committer.commits
        #expect(commits < 40, "concurrent requests should share commits, got \(commits) commits for 40 requests")
    }

    @Test func aRetryWhoseTimestampChangedIsStillADuplicateAcrossRestarts() async throws {
        let dir = TempDir()
        let a = UUID()
        let b = UUID()
        do {
            let ingest = try Self.service(dir)
            let first = try await ingest.ingest(body: Array(TestEvents.json(id: a).utf8), contentType: nil)
            #expect(first.results.map(\.status) == [.accepted])
            let restamped = try await ingest.ingest(
                body: Array(TestEvents.json(id: a, ts: 1_704_067_260_000).utf8), contentType: nil)
            #expect(restamped.results.map(\.status) == [.duplicate])
            let oneRequest = [TestEvents.json(id: b), TestEvents.json(id: b, ts: 1_704_067_999_000)]
            let r = try await ingest.ingest(body: Array(oneRequest.joined(separator: "\n").utf8), contentType: nil)
            #expect(r.results.map(\.status) == [.accepted, .duplicate])
            try ingest.store.close()
        }
        let reopened = try Self.service(dir)
        let later = [TestEvents.json(id: a, ts: 1_704_070_000_000), TestEvents.json(id: b)]
        let r = try await reopened.ingest(body: Array(later.joined(separator: "\n").utf8), contentType: nil)
        #expect(r.results.map(\.status) == [.duplicate, .duplicate])
        let stats = try await reopened.store.stats()
        #expect(stats.storedEvents == 2 && stats.lastSeq == 2 && stats.duplicatesTotal == 4)
    }

    @Test func perEventResultsNameTheIndexAndFieldOfRejections() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir, store: "store-001")
        let body =
            "["
            + [
                TestEvents.json(), TestEvents.json(channel: "fax"), TestEvents.json(store: "store-999"),
                TestEvents.json(),
            ].joined(separator: ",") + "]"
        let r = try await ingest.ingest(body: Array(body.utf8), contentType: "application/json")
        #expect(r.status == 200)
        #expect(r.results.map(\.status) == [.accepted, .rejected, .rejected, .accepted])
        #expect(r.results[1].error?.field == "channel")
        #expect(r.results[2].error?.field == "store_id")
        #expect(r.results.compactMap(\.seq) == [1, 2])
    }

    @Test(arguments: ["not json", "[1,2", "   ", "{\"event_id\": }"])
    func unreadableBodiesAreRejectedWhole(body: String) async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        let r = try await ingest.ingest(body: Array(body.utf8), contentType: nil)
        #expect(r.status == 400)
        #expect(try await ingest.store.stats().lastSeq == 0)
    }

    @Test func quotaRefusesUnsyncedDataAndEvictsSyncedCopiesFirst() async throws {
        let dir = TempDir()
        let quota: Int64 = 1 << 20
        let ingest = try Self.service(dir, quota: quota)
        let text = String(repeating: "long feedback text ", count: 40)
        var accepted = 0
        var refused: IngestResponse?
        for _ in 0..<200 {
            let body = (0..<20).map { _ in TestEvents.json(text: text) }.joined(separator: "\n")
            let r = try await ingest.ingest(body: Array(body.utf8), contentType: nil)
            if r.status == 503 {
                refused = r
                break
            }
            accepted += r.accepted
        }
        let r = try #require(refused)
        #expect(r.retryAfterSeconds == 5)
        var stats = try await ingest.store.stats()
        #expect(stats.lastSeq == UInt64(accepted) && stats.refusedRequestsTotal == 1 && stats.refusedEventsTotal == 20)
        #expect(stats.usedBytes <= quota)

        // Once the hub has the data, the same request fits by evicting synced local copies, oldest first.
        try await ingest.store.markSynced(through: UInt64(accepted))
        let body = (0..<20).map { _ in TestEvents.json(text: text) }.joined(separator: "\n")
        let after = try await ingest.ingest(body: Array(body.utf8), contentType: nil)
        #expect(after.status == 200 && after.accepted == 20)
        stats = try await ingest.store.stats()
        #expect(stats.evictedTotal > 0)
        #expect(stats.lastSeq == UInt64(accepted + 20))
        let page = try await ingest.store.outboxPage(after: UInt64(accepted), limit: 100)
        #expect(page.map(\.seq) == Array(UInt64(accepted + 1)...UInt64(accepted + 20)))
    }

    /// A buffer restored from a copy is a prefix of what the hub got: the hub's mark can be past its last seq. New
    /// events are numbered after the mark; numbered from the buffer's last seq, they took seqs the hub already held,
    /// the next acknowledgement marked them synced unsent, and eviction lost them.
    @Test func aBufferBehindTheHubNumbersNewEventsAfterTheHubsMark() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        #expect(
            try await ingest.ingest(body: TestEvents.ndjson((0..<5).map { _ in UUID() }), contentType: nil).accepted
                == 5)
        try await ingest.store.commitAck(
            highWaterMark: 20, downstream: nil, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
        let r = try await ingest.ingest(body: TestEvents.ndjson([UUID(), UUID()]), contentType: nil)
        #expect(r.results.map(\.seq) == [21, 22])
        let position = try await ingest.store.syncPosition()
        #expect(position.syncedThrough == 20 && position.lastSeq == 22 && position.unsynced == 2)
        #expect(try await ingest.store.outboxPage(after: 20, limit: 10).map(\.seq) == [21, 22])
        // the hub's next acknowledgement of the same mark leaves them unsynced
        try await ingest.store.commitAck(
            highWaterMark: 20, downstream: nil, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
        #expect(try await ingest.store.syncPosition().unsynced == 2)
        try ingest.store.close()
    }

    @Test func outboxPagesAreBoundedAndOrdered() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        _ = try await ingest.ingest(body: TestEvents.ndjson((0..<250).map { _ in UUID() }), contentType: nil)
        var after: UInt64 = 0
        var pages: [Int] = []
        while true {
            let page = try await ingest.store.outboxPage(after: after, limit: 100)
            if page.isEmpty { break }
            pages.append(page.count)
            #expect(page.first!.seq == after + 1)
            #expect(zip(page, page.dropFirst()).allSatisfy { $0.hlc < $1.hlc && $0.seq + 1 == $1.seq })
            after = page.last!.seq
        }
        #expect(pages == [100, 100, 50])
    }

    /// Alerts raised at ingest enter the outbox without a payload; the outbox gives their open update back whole,
    /// from the alert's row, in seq order among later updates and rows written with a payload (older agents).
    /// A note written at the store replaces the note its staff saw, even when that note came from a clock ahead of
    /// this box's (here 90 s, under the hub's skew threshold): last-writer-wins by the wall clock kept the older note.
    @Test func aStoreNoteReplacesTheNoteItSawFromAClockAhead() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let line =
            "{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"store_id\":\"store-007\",\"device_id\":\"k-1\","
            + "\"channel\":\"kiosk\",\"ts\":\(now),\"type\":\"survey_nps\",\"score\":1,"
            + "\"customer_id\":\"cust-1\",\"text\":\"I am cancelling my membership, switching to Acme\"}"
        #expect(try await ingest.ingest(body: Array(line.utf8), contentType: nil).accepted == 1)
        let alert = try #require(try await ingest.store.alerts().first)
        // acknowledged first (which moves the raised alert into its table), then noted by a hub 90 s ahead
        _ = try await ingest.store.updateAlert(id: alert.alertID, status: .acknowledged, note: nil, node: "agent-x")
        let ahead = HLCTimestamp(wallMillis: now + 90_000, counter: 0)
        let changed = try await ingest.store.pool.write { db in
            try db.execute(
                sql: "UPDATE alerts SET note = 'from the hub', note_hlc = ?, note_node = 'hub' WHERE alert_id = ?",
                arguments: [Int64(bitPattern: ahead.rawValue), alert.alertID])
            return db.changesCount
        }
        #expect(changed == 1)
        let updated = try #require(
            try await ingest.store.updateAlert(
                id: alert.alertID, status: .acknowledged, note: "manager on the floor", node: "agent-x"))
        #expect(updated.note == "manager on the floor")
        try ingest.store.close()
    }

    @Test func raisedAlertsReachTheOutboxWholeWithoutAStoredPayload() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let lines = (0..<6).map { i in
            "{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"store_id\":\"store-007\",\"device_id\":\"k-1\","
                + "\"channel\":\"kiosk\",\"ts\":\(now),\"type\":\"survey_nps\",\"score\":1,"
                + "\"customer_id\":\"cust-\(i)\",\"text\":\"I am cancelling my membership, switching to Acme\"}"
        }
        let response = try await ingest.ingest(body: Array(lines.joined(separator: "\n").utf8), contentType: nil)
        #expect(response.accepted == 6)
        let stored = try await ingest.store.alerts()
        #expect(!stored.isEmpty)
        let empty = try await readOnlyDatabase(dir.path + "/buffer.sqlite").read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM alert_outbox WHERE length(payload) = 0") ?? 0
        }
        #expect(empty == stored.count)
        let acknowledged = try #require(
            try await ingest.store.updateAlert(id: stored[0].alertID, status: .acknowledged, note: "on it", node: "t"))
        #expect(acknowledged.status == "acknowledged")
        // An open update as agents before this one stored it, payload and all.
        var legacy = Cxsync_V1_AlertUpdate()
        legacy.alertID = "1700000000000.complaint.store-007.legacy"
        legacy.status = .open
        legacy.rule = "complaint"
        legacy.severity = "warning"
        legacy.storeID = "store-007"
        legacy.summary = "Complaint at store-007"
        legacy.raisedHlc = HLCTimestamp(wallMillis: 1_700_000_000_000, counter: 0).rawValue
        let legacyBytes = Data(try legacy.serializedBytes() as [UInt8])
        let legacySeq = try await DatabaseQueue(path: dir.path + "/buffer.sqlite").write { db -> Int64 in
            let seq = try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'next_seq'")!
            try db.execute(
                sql: "INSERT INTO alert_outbox (seq, alert_id, payload) VALUES (?, ?, ?)",
                arguments: [seq, "1700000000000.complaint.store-007.legacy", legacyBytes])
            try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'next_seq'")
            return seq
        }
        // An open update as agents before the outbox's alert columns stored it: no payload, the alert's row.
        let emptySeq = try await DatabaseQueue(path: dir.path + "/buffer.sqlite").write { db -> Int64 in
            let seq = try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'next_seq'")!
            try db.execute(
                sql: """
                    INSERT INTO alerts (alert_id, status, rule, severity, store_id, summary, raised_hlc, updated_at)
                    VALUES ('1700000000001.csat-low.store-007.older', 1, 'csat-low', 'info', 'store-007', 'Low CSAT', ?, 0)
                    """,
                arguments: [Int64(HLCTimestamp(wallMillis: 1_700_000_000_001, counter: 0).rawValue)])
            try db.execute(
                sql: "INSERT INTO alert_outbox (seq, alert_id, payload) VALUES (?, ?, zeroblob(0))",
                arguments: [seq, "1700000000001.csat-low.store-007.older"])
            try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'next_seq'")
            return seq
        }
        let outbox = try await ingest.store.outboxAlerts(after: 0, through: .max, limit: 100)
        let older = try #require(outbox.first { $0.seq == UInt64(emptySeq) })
        #expect(older.update.rule == "csat-low" && older.update.summary == "Low CSAT" && older.update.status == .open)
        #expect(HLCTimestamp(rawValue: older.update.raisedHlc).wallMillis == 1_700_000_000_001)
        #expect(outbox.count == stored.count + 3)
        #expect(zip(outbox, outbox.dropFirst()).allSatisfy { $0.seq < $1.seq })
        #expect(outbox.allSatisfy { $0.seq > 6 }, "alerts follow the events that raised them")
        for alert in stored {
            let open = try #require(outbox.first { $0.alertID == alert.alertID && $0.update.status == .open })
            var expected = Cxsync_V1_AlertUpdate()
            expected.alertID = alert.alertID
            expected.status = .open
            expected.rule = alert.rule
            expected.severity = alert.severity
            expected.storeID = alert.storeID
            expected.summary = alert.summary
            expected.raisedHlc = open.update.raisedHlc
            #expect(open.update == expected)
            #expect(HLCTimestamp(rawValue: open.update.raisedHlc).wallMillis == alert.raisedAt)
            #expect(!alert.rule.isEmpty && !alert.summary.isEmpty && alert.storeID == "store-007")
        }
        let ack = try #require(outbox.first { $0.update.status == .acknowledged })
        #expect(ack.alertID == stored[0].alertID && ack.update.note.value == "on it")
        #expect(outbox.first { $0.seq == UInt64(legacySeq) }?.update == legacy)
    }

    /// Churn threats of `customers` distinct customers at store-007 (one churn alert each), as NDJSON. Each text
    /// ends in words of its own: near-duplicates raise no alert.
    static func churnThreats(_ customers: Range<Int>) -> [UInt8] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        // Seeded by the customer, so that every run sends the same texts: random letters now and then make a text
        // the quality checks flag (spam, near-duplicate), and a flagged event raises no alert.
        func words(_ i: Int) -> String {
            // (not a multiple of the generator's own step, or each customer's stream would be another's, shifted)
            var rng = SeededGenerator(seed: 0x5EED &+ UInt64(i) &* 0xBF58_476D_1CE4_E5B9)
            return (0..<5).map { _ in
                String((0..<7).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement(using: &rng)! })
            }.joined(separator: " ")
        }
        return Array(
            customers.map { i in
                "{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"store_id\":\"store-007\",\"device_id\":\"k-1\","
                    + "\"channel\":\"kiosk\",\"ts\":\(now),\"type\":\"survey_nps\",\"score\":1,"
                    + "\"customer_id\":\"cust-\(100_000 + i)\",\"text\":\"I am cancelling my membership, switching to Acme. "
                    + "\(words(i))\"}"
            }.joined(separator: "\n").utf8)
    }

    /// Raised alerts are written to the outbox only and moved into `alerts` in bulk; they are listed, can be
    /// acknowledged and survive the outbox's cleanup at every point of that.
    @Test func raisedAlertsAreServedBeforeAndAfterTheirBulkMove() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir)
        let db = try readOnlyDatabase(dir.path + "/buffer.sqlite")
        func counter(_ name: String) throws -> Int {
            try db.read { try Int.fetchOne($0, sql: "SELECT value FROM counters WHERE name = ?", arguments: [name])! }
        }
        func rows(_ table: String = "alerts") throws -> Int {
            try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table)")! }
        }

        #expect(try await ingest.ingest(body: Self.churnThreats(0..<10), contentType: nil).accepted == 10)
        let raised = try counter("alerts_raised_total")
        #expect(raised >= 10)
        #expect(try rows() == 0, "not moved yet")
        var listed = try await ingest.store.alerts()
        #expect(listed.count == raised && Set(listed.map(\.alertID)).count == raised)
        #expect(listed.allSatisfy { $0.status == "open" && $0.storeID == "store-007" && !$0.summary.isEmpty })

        let pending = try #require(listed.first { $0.rule == "churn-threat" })
        let acknowledged = try #require(
            try await ingest.store.updateAlert(id: pending.alertID, status: .acknowledged, note: "calling", node: "t"))
        #expect(acknowledged.status == "acknowledged" && acknowledged.note == "calling")
        #expect(try rows() == raised, "an update moves every raised alert first")
        #expect(try counter("alerts_unmaterialized") == 0)
        listed = try await ingest.store.alerts()
        #expect(listed.count == raised)
        #expect(try await ingest.store.alerts(status: .acknowledged).map(\.alertID) == [pending.alertID])

        // Past `alertsPerMaterialization` raised alerts, a group commit moves them.
        for start in stride(from: 10, to: 1110, by: 100) {
            let response = try await ingest.ingest(body: Self.churnThreats(start..<start + 100), contentType: nil)
            #expect(response.accepted == 100)
        }
        let moved = try counter("alerts_raised_total")
        #expect(moved >= raised + 1100, "every threat raises its alert")
        #expect(moved - raised > BufferStore.alertsPerMaterialization, "enough to pass the bulk move's threshold")
        #expect(try rows() == moved, "the commit that passed 1,024 moved them all")
        #expect(try counter("alerts_unmaterialized") == 0)
        #expect(try await ingest.ingest(body: Self.churnThreats(1110..<1160), contentType: nil).accepted == 50)
        let total = try counter("alerts_raised_total")
        #expect(total >= moved + 50)
        #expect(try rows() == moved, "the latest wait in the outbox")
        listed = try await ingest.store.alerts()
        #expect(listed.count == total && Set(listed.map(\.alertID)).count == total)
        #expect(try await ingest.store.alerts(status: .open).count == total - 1)
        #expect(zip(listed, listed.dropFirst()).allSatisfy { $0.raisedAt >= $1.raisedAt })

        // The hub took everything: the outbox is emptied, the alerts stay.
        let last = try await ingest.store.stats().lastSeq
        try await ingest.store.commitAck(
            highWaterMark: last, downstream: nil, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
        #expect(try rows("alert_outbox") == 0)
        #expect(try rows() == total)
        #expect(try await ingest.store.alerts().count == total)
    }

    /// The fleet key of the test hub that `enroll` leaves credentials of.
    static let fleetKey = [UInt8](repeating: 7, count: 32)

    /// Credentials in `dir` as enrollment leaves them, with `fleetKey`.
    static func enroll(_ dir: TempDir) throws {
        try AgentCredentials(
            hubURL: "https://hub.invalid", hubID: "hub-test", agentID: "agent-test", storeID: "store-001",
            deviceID: "pos-1", privateKey: "", enrolledAt: "2026-12-07T00:00:00Z",
            fleetKey: Data(fleetKey).base64EncodedString()
        ).save(directory: dir.path)
    }

    /// The customer ids of the stored events, in seq order, as their payloads carry them.
    static func storedCustomers(_ store: BufferStore) throws -> [String] {
        try store.pool.read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM events ORDER BY seq").map {
                try Cxsync_V1_Event(serializedBytes: [UInt8]($0)).sentCustomerID
            }
        }
    }

    /// The subject the hub names an erasure by (`cx erase` of an identifier): its keyed hash with the fleet key, as
    /// the hub computes it (`HubStore.customerKey(for:)`), whether or not the agent enriches.
    static func erasureSubject(_ identifier: String) throws -> String {
        try #require(try CustomerIdentifierHasher(fleetKey: fleetKey).hash(identifier))
    }

    /// Events of a customer still unsynced when the customer's erasure comes down flow on to the hub, which drops
    /// them; once an acknowledgement covers them their local copies go too, and no other customer's do. Without
    /// enrichment the copies hold the identifier itself, and are known by its keyed hash, which the erasure names.
    @Test(arguments: [true, false])
    func eventsBufferedBeforeAnErasureGoOnceSynced(enriched: Bool) async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir, enriched: enriched, enrolled: true)
        @discardableResult
        func post(_ customers: [String], refused: Int = 0) async throws -> IngestResponse {
            let r = try await ingest.ingest(body: TestEvents.ndjson(customers: customers), contentType: nil)
            #expect(r.accepted == customers.count - refused && r.rejected == refused)
            return r
        }
        func keys() throws -> [String] { try Self.storedCustomers(ingest.store) }
        func ack(_ seq: UInt64) async throws {
            try await ingest.store.commitAck(
                highWaterMark: seq, downstream: nil, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
        }
        try await post(["erase.me@example.com", "keep.me@example.com"])
        let synced = try await ingest.store.stats().lastSeq
        try await ack(synced)
        try await post(["erase.me@example.com", "keep.me@example.com", "erase.me@example.com"])
        let erased = try keys()[0]
        let kept = try keys()[1]
        #expect(erased != kept && !erased.isEmpty)
        #expect((erased == "erase.me@example.com") == !enriched)
        // The erasure comes with an acknowledgement of the older events only: their copy goes, the newer ones stay.
        try await Self.ackErasing(
            try Self.erasureSubject("erase.me@example.com"), through: synced, ingest.store)
        #expect(try keys() == [kept, erased, kept, erased])
        // The customer's events that come after the erasure are refused (the others stored); the sweep does not
        // wait for any of them.
        let late = try await post(["erase.me@example.com", "keep.me@example.com"], refused: 1)
        #expect(late.results[0].error?.code == .customerErased)
        #expect(try keys() == [kept, erased, kept, erased, kept])
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == Int64(synced + 3))
        // An acknowledgement of part of them: the erased customer's copies in that part go, and the sweep still waits
        // for the rest.
        try await ack(synced + 2)
        #expect(try keys() == [kept, kept, erased, kept])
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == Int64(synced + 3))
        // The next acknowledgement covers them all.
        try await ack(try await ingest.store.stats().lastSeq)
        #expect(try keys() == [kept, kept, kept])
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == nil)
        let erasedCount = try await ingest.store.pool.read {
            try Int64.fetchOne($0, sql: "SELECT value FROM counters WHERE name = 'erased_local_total'")
        }
        #expect(erasedCount == 3)
    }

    /// Erasures are remove-wins (DESIGN.md): once a customer's erasure has come down, a new event of theirs is
    /// refused, not stored, with the reason, and so is an alert only it raised; other customers' events in the same
    /// request are stored. The erased customers are read back when the buffer opens again. The hub names the erasure
    /// by the keyed hash only; without enrichment the agent knows the identifiers it stores unhashed by their hash.
    @Test(arguments: [true, false])
    func eventsOfAnErasedCustomerAreRefused(enriched: Bool) async throws {
        let dir = TempDir()
        func service() throws -> IngestService { try Self.service(dir, enriched: enriched, enrolled: true) }
        func post(_ ingest: IngestService, _ customers: [String]) async throws -> IngestResponse {
            // churn threats, worded apart: a near-duplicate raises no alert
            let texts = [
                "I am going to cancel my membership", "Please cancel my account, I am done with this store",
                "I will switch to another shop and cancel my loyalty card",
            ]
            return try await ingest.ingest(
                body: TestEvents.ndjson(customers: customers, texts: texts), contentType: nil)
        }
        func keys(_ ingest: IngestService) throws -> [String] { try Self.storedCustomers(ingest.store) }
        var ingest: IngestService? = try service()
        #expect(try await post(ingest!, ["keep.me@example.com"]).accepted == 1)
        let kept = try keys(ingest!)[0]
        // the hub names the erasure by the keyed hash, also when this agent stores identifiers unhashed
        try await Self.ackErasing(try Self.erasureSubject("erase.me@example.com"), through: 0, ingest!.store)
        let alertsBefore = try await ingest!.store.alerts().count
        #expect(alertsBefore == (enriched ? 1 : 0))
        for reopened in [false, true] {
            if reopened {
                try ingest!.store.close()
                ingest = nil
                ingest = try service()
            }
            // an identifier is normalised before it is hashed: another spelling is the same customer
            let customers = ["keep.me@example.com", "erase.me@example.com", "Erase.Me@Example.COM"]
            let r = try await post(ingest!, customers)
            #expect(r.status == 200 && r.accepted == 1 && r.rejected == customers.count - 1)
            for refused in r.results.dropFirst() {
                #expect(refused.status == .rejected && refused.seq == nil)
                #expect(refused.error?.code == .customerErased && refused.error?.field == "customer_id")
            }
            if enriched && !reopened {
                // a churn threat raises one alert per customer: the refused customer's is not raised (the kept
                // customer's is within its cooldown)
                #expect(try await ingest!.store.alerts().count == alertsBefore)
            }
        }
        #expect(try keys(ingest!) == [kept, kept, kept])
        // Only the customer's events are refused: all of them.
        let all = try await post(ingest!, ["erase.me@example.com"])
        #expect(all.status == 422 && all.rejected == 1)
    }

    /// Copies that the agent stored unhashed before its enrichment was switched on are still known by their keyed
    /// hash, which is all an erasure names: they go with their customer's erasure.
    @Test func unhashedCopiesFromBeforeEnrichmentGoWithTheErasure() async throws {
        let dir = TempDir()
        let body = TestEvents.ndjson(customers: ["erase.me@example.com", "keep.me@example.com"])
        do {
            let plain = try Self.service(dir, enriched: false, enrolled: true)
            #expect(try await plain.ingest(body: body, contentType: nil).accepted == 2)
            try plain.store.close()
        }
        let ingest = try Self.service(dir, enriched: true, enrolled: true)
        let last = try await ingest.store.stats().lastSeq
        try await Self.ackErasing(try Self.erasureSubject("erase.me@example.com"), through: last, ingest.store)
        #expect(try Self.storedCustomers(ingest.store) == ["keep.me@example.com"])
    }

    /// A refused event stays out of the memory across events: an erased customer's angry post starts no cooldown of
    /// a store-wide rule (nor a near-duplicate window entry), so the next customer's is alerted on as usual.
    @Test func aRefusedEventStartsNoCooldown() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir, enrolled: true)
        func post(_ customer: String, _ text: String) async throws -> IngestResponse {
            try await ingest.ingest(body: TestEvents.ndjson(customers: [customer], texts: [text]), contentType: nil)
        }
        let subject = try Self.erasureSubject("erase.me@example.com")
        try await Self.ackErasing(subject, through: 0, ingest.store)
        let refused = try await post(
            "erase.me@example.com", "The staff were rude and the store was filthy, worst visit ever")
        #expect(refused.rejected == 1)
        #expect(try await ingest.store.alerts().isEmpty)
        let kept = try await post(
            "keep.me@example.com", "Absolutely terrible service, the cashier was rude and I hate it")
        #expect(kept.accepted == 1)
        let rules = Set(try await ingest.store.alerts().map(\.rule))
        #expect(rules.contains("very-negative"), "alerts: \(rules)")
    }

    /// A request checked against the erased customers before an erasure came down, and committed after it, may
    /// hold the customer's events: they flow to the hub, which drops them, and their local copies go once synced,
    /// as the events buffered before the erasure do.
    @Test func aRequestCheckedBeforeAnErasureIsSweptOnceSynced() async throws {
        let dir = TempDir()
        let ingest = try Self.service(dir, enrolled: true)
        func body(_ customers: [String]) -> [UInt8] { TestEvents.ndjson(customers: customers) }
        func keys() throws -> [String] { try Self.storedCustomers(ingest.store) }
        _ = try await ingest.ingest(body: body(["keep.me@example.com"]), contentType: nil)
        let synced = try await ingest.store.stats().lastSeq
        let early = try await ingest.prepare(
            body: body(["erase.me@example.com", "keep.me@example.com"]), contentType: nil)
        #expect(early.prepared.count == 2 && early.erasureGeneration == 0)
        let subject = try Self.erasureSubject("erase.me@example.com")
        try await Self.ackErasing(subject, through: synced, ingest.store)
        // nothing unsynced when the erasure came: no sweep pending
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == nil)
        let outcome = try await ingest.committer.submit(early.prepared, erasureGeneration: early.erasureGeneration)
        guard case .committed(let results) = outcome else {
            Issue.record("not committed: \(outcome)")
            return
        }
        #expect(results.count == 2)
        let last = try await ingest.store.stats().lastSeq
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == Int64(last))
        #expect(try keys().count == 3)
        try await ingest.store.commitAck(
            highWaterMark: last, downstream: nil, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
        #expect(!(try keys()).contains(subject))
        #expect(try keys().count == 2)
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == nil)
        // A request checked after the erasure is not swept: it holds none of the customer's events.
        let late = try await ingest.prepare(body: body(["keep.me@example.com"]), contentType: nil)
        #expect(late.erasureGeneration == 1)
        _ = try await ingest.committer.submit(late.prepared, erasureGeneration: late.erasureGeneration)
        #expect(try await ingest.store.syncState()["erasure_pending_through"] == nil)
    }

    /// A damaged buffer of 5,000 events, closed; returns the epoch it had.
    @discardableResult
    static func damagedBuffer(_ dir: TempDir) async throws -> UInt64 {
        let ingest = try Self.service(dir)
        let epoch = ingest.store.identity.epoch
        for _ in 0..<10 {
            _ = try await ingest.ingest(body: TestEvents.ndjson((0..<500).map { _ in UUID() }), contentType: nil)
        }
        try ingest.store.close()
        let path = dir.path + "/buffer.sqlite"
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size * 6 / 10))
        try handle.close()
        return epoch
    }

    /// A recovery killed while it salvaged leaves the damaged file in place and a partial new one beside it: the
    /// next start salvages again, from the damaged file, and nothing more is lost.
    @Test func aRecoveryKilledWhileSalvagingIsDoneAgainByTheNextStart() async throws {
        let dir = TempDir()
        try await Self.damagedBuffer(dir)
        let path = dir.path + "/buffer.sqlite"
        try Data("half a database".utf8).write(to: URL(fileURLWithPath: path + ".recovering"))
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let report = try #require(store.recovery)
        #expect(report.recovered > 0 && report.recovered + report.lost == 5000)
        #expect(try await store.stats().lastSeq == UInt64(report.recovered))
        for leftover in [".recovering", ".recovered"] {
            #expect(!FileManager.default.fileExists(atPath: path + leftover))
        }
        #expect(FileManager.default.fileExists(atPath: report.quarantinedPath))
    }

    /// A recovery killed after its new database was complete, before the swap: the next start puts that database
    /// in place (it does not salvage again) and keeps the damaged one aside.
    @Test func aRecoveryKilledBeforeTheSwapIsFinishedByTheNextStart() async throws {
        let dir = TempDir()
        try await Self.damagedBuffer(dir)
        let path = dir.path + "/buffer.sqlite"
        // the complete database the killed start had written: a recovery of a copy of the damaged directory
        let copy = TempDir()
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            try FileManager.default.copyItem(atPath: dir.path + "/" + file, toPath: copy.path + "/" + file)
        }
        let salvaged = try BufferStore.open(directory: copy.path, quotaBytes: 1 << 30, logger: testLogger)
        let expected = try #require(salvaged.recovery)
        let epoch = salvaged.identity.epoch
        try salvaged.close()
        try FileManager.default.copyItem(atPath: copy.path + "/buffer.sqlite", toPath: path + ".recovered")

        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        #expect(store.recovery == nil, "not salvaged again")
        #expect(store.identity.epoch == epoch)
        let stats = try await store.stats()
        #expect(stats.lastSeq == UInt64(expected.recovered))
        #expect(stats.lostInRecoveryTotal == UInt64(expected.lost))
        #expect(!FileManager.default.fileExists(atPath: path + ".recovered"))
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".corrupt-") }
        #expect(kept.contains { $0.hasSuffix(".sqlite") }, "\(kept)")
    }

    @Test func truncatedDatabaseIsSalvagedIntoANewEpoch() async throws {
        let dir = TempDir()
        let epoch = try await Self.damagedBuffer(dir)

        try await Task.sleep(for: .milliseconds(1100))
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let report = try #require(store.recovery)
        #expect(report.recovered > 0 && report.lost > 0)
        #expect(report.recovered + report.lost == 5000)
        #expect(FileManager.default.fileExists(atPath: report.quarantinedPath))
        #expect(store.identity.epoch != epoch)
        let stats = try await store.stats()
        #expect(stats.lastSeq == UInt64(report.recovered) && stats.lostInRecoveryTotal == UInt64(report.lost))
        let service = IngestService(store: store, configuration: AgentConfiguration(), enricher: nil)
        let r = try await service.ingest(body: TestEvents.ndjson([UUID()]), contentType: nil)
        #expect(r.results.first?.seq == UInt64(report.recovered + 1))
    }

    /// A producer's retry of events already stored (after a lost answer; `cx-agent ingest` of a file again, a new
    /// process each time) raised their alerts again, each sent to the hub and the webhook; a duplicate raises none.
    @Test func aDuplicateEventRaisesNoAlertAgain() async throws {
        let dir = TempDir()
        let line = InsightWiringTests.line(UUID(), text: "Still waiting for my refund", score: 0, customer: "c-9")
        var raised: [Int] = []
        for _ in 0..<3 {
            // a new service each time: the alert rules' cooldowns live in memory, as in a new process
            let service = try Self.service(dir)
            let r = try await service.ingest(body: Array(line.utf8), contentType: nil)
            #expect(r.status == 200)
            raised.append(try await service.store.alerts(status: nil).count)
            try service.store.close()
        }
        #expect(raised.first ?? 0 > 0, "the first ingest raises alerts")
        #expect(Set(raised).count == 1, "\(raised)")
    }

    /// A request refused for the quota (503) after its analysis left its events in the enricher's memory: the
    /// producer's retry, once there was room, was flagged a near-duplicate of itself and raised none of its alerts
    /// (each suppressed by the cooldown of an alert that was never stored). The retry now stores what a first
    /// attempt would have.
    @Test func aRetryAfterTheBufferWasFullRaisesItsAlerts() async throws {
        let text = "I am cancelling my membership and switching to another store, the checkout queue was a joke"
        let line = InsightWiringTests.line(UUID(), text: text, score: 1, customer: "c-7")
        func ingest(_ dir: TempDir, quota: Int64, _ enricher: EventEnricher) async throws -> (Int, BufferStore) {
            var c = AgentConfiguration()
            c.dataDirectory = dir.path
            let store = try BufferStore.open(directory: dir.path, quotaBytes: quota, logger: testLogger)
            let service = IngestService(store: store, configuration: c, enricher: enricher)
            return (try await service.ingest(body: Array(line.utf8), contentType: nil).status, store)
        }
        let key = Array(repeating: UInt8(3), count: 32)
        let fresh = TempDir()
        let (status, reference) = try await ingest(fresh, quota: 1 << 30, try EventEnricher(fleetKey: key))
        #expect(status == 200)
        let expected = try await reference.alerts(status: nil).map(\.rule).sorted()
        #expect(expected.contains("churn-threat") && expected.contains("nps-detractor"), "\(expected)")
        try reference.close()

        let dir = TempDir()
        let enricher = try EventEnricher(fleetKey: key)
        let (refused, full) = try await ingest(dir, quota: 1, enricher)
        #expect(refused == 503)
        try full.close()
        let (retried, store) = try await ingest(dir, quota: 1 << 30, enricher)
        #expect(retried == 200)
        #expect(try await store.alerts(status: nil).map(\.rule).sorted() == expected)
        let stored = try InsightWiringTests.storedEvents(dir.path)
        #expect(stored.count == 1)
        #expect(stored.first.map { !$0.enrichment.flags.contains("near_duplicate") } == true, "\(stored)")
        try store.close()
    }

    /// A producer's retry of events already stored fed the alert rules: the writer dropped their alerts, but the
    /// cooldown had started again, and the next real alert was suppressed by one nobody saw. The same event twice in
    /// one request raised (and queued for the webhook) its alerts twice.
    @Test func retriesOfStoredEventsLeaveTheAlertRulesAlone() async throws {
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        c.alertWebhookURL = "http://127.0.0.1:9/hook"
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let enricher = try EventEnricher(fleetKey: Array(repeating: 3, count: 32))
        enricher.apply(
            HubAlertSettings(
                entries: [
                    HubConfigEntry(collection: "config", key: "*", field: "alert_cooldown_seconds", value: "1"),
                    HubConfigEntry(
                        collection: "config", key: "*", field: "alert_rules_disabled", value: "negative-spike"),
                ], storeID: "store-001"))
        let service = IngestService(store: store, configuration: c, enricher: enricher)
        func angry(_ text: String) -> String {
            InsightWiringTests.line(UUID(), text: text, score: 8, customer: "c-1")
        }
        func veryNegative() async throws -> Int {
            try await store.alerts(status: nil).filter { $0.rule == "very-negative" }.count
        }
        let first = angry("The worst store ever, the staff were rude and the queue was horrible")
        let second = angry("Disgusting toilets and a rude, useless manager, never again")
        // the first twice in one request: stored once, alerted once, queued for the webhook once; the second is in
        // the cooldown
        let body = [first, first, second].joined(separator: "\n")
        #expect(try await service.ingest(body: Array(body.utf8), contentType: nil).accepted == 2)
        #expect(try await veryNegative() == 1)
        #expect(try await store.pendingWebhooks() == (try await store.alerts(status: nil).count))
        try await Task.sleep(for: .milliseconds(1_100))
        // the retry, after the cooldown: duplicates, no alert, and no cooldown started (by the second)
        let retry = try await service.ingest(body: Array((first + "\n" + second).utf8), contentType: nil)
        #expect(retry.results.map(\.status) == [.duplicate, .duplicate])
        #expect(try await veryNegative() == 1)
        let next = angry("Terrible, awful service, I hate this shop and its rude manager")
        #expect(try await service.ingest(body: Array(next.utf8), contentType: nil).accepted == 1)
        #expect(try await veryNegative() == 2, "the next real alert is raised")
        try store.close()
    }

    /// A store's removed setting leaves the fleet's (`*`) in force; it cancelled it.
    @Test func aStoresRemovedSettingLeavesTheFleetsInForce() {
        let entries = [
            HubConfigEntry(collection: "config", key: "*", field: "alert_sentiment_threshold", value: "-0.3"),
            HubConfigEntry(collection: "config", key: "store-042", field: "alert_sentiment_threshold", value: nil),
        ]
        #expect(HubAlertSettings(entries: entries, storeID: "store-042").sentimentThreshold == -0.3)
        let removed = [
            HubConfigEntry(collection: "config", key: "*", field: "alert_sentiment_threshold", value: nil),
            HubConfigEntry(collection: "config", key: "store-042", field: "alert_sentiment_threshold", value: "-0.4"),
        ]
        #expect(HubAlertSettings(entries: removed, storeID: "store-042").sentimentThreshold == -0.4)
        #expect(HubAlertSettings(entries: removed, storeID: "store-001").sentimentThreshold == nil)
        // a store's value that cannot apply (set before the hub checked values) leaves the fleet's in force
        let invalid = [
            HubConfigEntry(collection: "config", key: "*", field: "alert_sentiment_threshold", value: "-0.6"),
            HubConfigEntry(collection: "config", key: "store-042", field: "alert_sentiment_threshold", value: "0"),
        ]
        let settings = HubAlertSettings(entries: invalid, storeID: "store-042")
        #expect(settings.sentimentThreshold == -0.6)
        #expect(settings.problems.count == 1)
    }

    /// A single object over several lines whose first line ends with a nested "}" read as NDJSON by its shape and
    /// was refused; a body of no readable line now says what is wrong with its first line.
    @Test func aMultiLineObjectIsReadWholeAndAnUnreadableBodySaysWhy() async throws {
        let dir = TempDir()
        let service = try Self.service(dir, enriched: false)
        let object = """
            {"event_id":"\(UUID().uuidString.lowercased())","store_id":"s1","device_id":"k1","channel":"kiosk","attributes": {}
            ,"type":"feedback","ts":1704067200000,"text":"hi"}
            """
        let r = try await service.ingest(body: Array(object.utf8), contentType: "application/json")
        #expect(r.status == 200 && r.results.first?.status == .accepted, "\(r)")
        let bad = "{\"store_id\":\"s1\",}\n{\"store_id\":\"s2\",}\n"
        let refused = try await service.ingest(body: Array(bad.utf8), contentType: "application/x-ndjson")
        #expect(refused.status == 400)
        #expect(
            refused.error?.message.hasPrefix("no line of the body is a JSON object (line 1 is not a JSON object: ")
                == true, "\(refused)")
    }

    /// A time with microseconds (Python's isoformat) trapped the parser and stopped the agent, on both the scanner's
    /// path and the validator's; it is now cut to milliseconds, with and without an event_id.
    @Test(arguments: [true, false])
    func aTimeWithMicrosecondsIsTakenToTheMillisecond(withID: Bool) async throws {
        let dir = TempDir()
        let service = try Self.service(dir)
        let second = Int64(Date().timeIntervalSince1970) - 60
        let formatter = ISO8601DateFormatter()
        let text = formatter.string(from: Date(timeIntervalSince1970: Double(second)))
        let time = text.replacingOccurrences(of: "Z", with: ".123456+00:00")
        let id = withID ? "\"event_id\":\"\(UUID().uuidString.lowercased())\"," : ""
        let line =
            "{\(id)\"store_id\":\"s1\",\"device_id\":\"k1\",\"channel\":\"kiosk\",\"type\":\"feedback\","
            + "\"occurred_at\":\"\(time)\",\"text\":\"fine\"}"
        let r = try await service.ingest(body: Array(line.utf8), contentType: nil)
        #expect(r.status == 200, "\(r)")
        let stored = try InsightWiringTests.storedEvents(dir.path)
        #expect(stored.map(\.occurredAtMs) == [second * 1000 + 123])
    }

    /// The configured patterns reach the enricher: a loyalty number in a text or an attribute is never stored.
    @Test func configuredPIIPatternsAreMaskedBeforeTheCommit() async throws {
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        c.piiPatterns = [
            PIIPattern(name: "loyalty_id", prefix: "LOY-", minDigits: 8, maxDigits: 10, token: "[LOYALTY]")
        ]
        let buffer = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let service = try IngestService(store: buffer, configuration: c)
        let line = InsightWiringTests.line(
            UUID(), text: "my card LOY-12345678 was not scanned", score: 3, customer: "c-1",
            attributes: "{\"member\":\"LOY-87654321\"}")
        let r = try await service.ingest(body: Array((line + "\n").utf8), contentType: nil)
        #expect(r.status == 200)
        let stored = try InsightWiringTests.storedEvents(dir.path)
        #expect(stored.map(\.text) == ["my card [LOYALTY] was not scanned"])
        #expect(stored.first?.attributes.first { $0.key == "member" }?.value == "[LOYALTY]")
    }

    /// ServiceLifecycle logs each service it runs at debug level as `"\(service)"`: the services that hold the
    /// credentials and the configuration printed the private key, the fleet key, the API token and the webhook URL's
    /// secret.
    @Test func servicesDescribeThemselvesWithoutSecrets() throws {
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        c.apiToken = "token-0123456789abcdef"
        c.alertWebhookURL = "https://bot:pass-w0rd@hooks.example.invalid/services/T000/SECRETPATH"
        let credentials = AgentCredentials(
            hubURL: "https://hub.invalid:7443", hubID: "hub-test", agentID: "agent-test", storeID: "store-001",
            deviceID: "pos-1", privateKey: "PRIVATEKEYBASE64=", enrolledAt: "2026-12-07T00:00:00Z",
            fleetKey: "FLEETKEYBASE64=")
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let services: [any Service] = [
            SyncService(
                store: store, configuration: c, credentials: credentials, caFile: "", monitor: SyncMonitor(),
                logger: testLogger),
            AlertWebhookService(store: store, url: c.alertWebhookURL, logger: testLogger),
        ]
        let printed =
            services.map { "\($0)" } + services.map { String(reflecting: $0) }
            + ["\(credentials)", String(reflecting: credentials), "\(c)", String(reflecting: c)]
        for text in printed {
            for secret in ["PRIVATEKEYBASE64", "FLEETKEYBASE64", "token-0123456789abcdef", "pass-w0rd", "SECRETPATH"] {
                #expect(!text.contains(secret), "\(text)")
            }
        }
        #expect(printed[0] == "SyncService(hub: https://hub.invalid:7443, agent_id: agent-test)")
        try store.close()
    }

    /// `default_country_code` reaches the hashing of customer identifiers: a POS's international number and a
    /// kiosk's national one are stored under one customer key. A bad code is refused with the setting's name.
    @Test func theDefaultCountryCodeJoinsNationalAndInternationalNumbers() async throws {
        let dir = TempDir()
        let file = dir.path + "/agent.yaml"
        try "default_country_code: \"44\"\ndata_directory: \(dir.path)\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let c = try AgentConfiguration.load(file: file, environment: [:])
        #expect(c.defaultCountryCode == "44")
        let buffer = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let service = try IngestService(store: buffer, configuration: c)
        let body = [
            InsightWiringTests.line(UUID(), text: "fine", score: 9, customer: "+44 7700 900123", channel: "pos"),
            InsightWiringTests.line(UUID(), text: "fine", score: 9, customer: "07700 900123"),
        ].joined(separator: "\n")
        let answer = try await service.ingest(body: Array(body.utf8), contentType: nil)
        #expect(answer.accepted == 2, "\(answer)")
        let keys = try InsightWiringTests.storedEvents(dir.path).map(\.storedCustomerKey)
        #expect(keys.count == 2 && Set(keys).count == 1 && keys[0].count == 16, "\(keys)")
        try buffer.close()
        do {
            _ = try AgentConfiguration.load(file: file, environment: ["CX_AGENT_DEFAULT_COUNTRY_CODE": "+44"])
            Issue.record("a country code with '+' was accepted")
        } catch {
            #expect(
                "\(error)"
                    == "configuration error in setting 'default_country_code' (environment variable CX_AGENT_DEFAULT_COUNTRY_CODE): '+44' is not a country calling code (1 to 3 digits without '+', e.g. 44)"
            )
        }
    }

    /// Values the agent multiplies (seconds to milliseconds, KiB to bytes) trapped it near Int64.max, and a negative
    /// Retry-After or clock drift was taken as given: each is refused with its setting's name.
    @Test(arguments: [
        ("MAX_CLOCK_DRIFT_SECONDS", "10000000000000000", "max_clock_drift_seconds"),
        ("MAX_CLOCK_DRIFT_SECONDS", "-100", "max_clock_drift_seconds"),
        ("RETRY_AFTER_SECONDS", "-5", "retry_after_seconds"),
        ("STALL_AFTER_SECONDS", "10000000000000000", "stall_after_seconds"),
        ("SYNC_INTERVAL_MS", "9223372036854775807", "sync_interval_ms"),
        ("CACHE_KIB", "9007199254740993", "cache_kib"),
        ("REQUEST_TIMEOUT_SECONDS", "0", "request_timeout_seconds"),
        ("STORE_ID", "Store 42", "store_id"),
    ])
    func outOfRangeSettingsAreNamed(variable: String, value: String, setting: String) throws {
        do {
            _ = try AgentConfiguration.load(file: nil, environment: ["CX_AGENT_" + variable: value])
            Issue.record("\(variable)=\(value) accepted")
        } catch {
            let named = "setting '\(setting)' (environment variable CX_AGENT_\(variable)): "
            #expect(
                "\(error)".contains(named + "must be within")
                    || "\(error)".contains(named + "'\(value)' must be 1 to 128 bytes"), "\(error)")
        }
    }

    /// A misspelt variable changed nothing without a word: the agent now warns at start, naming the nearest
    /// variable that is a setting.
    @Test func misspeltEnvironmentVariablesAreNamed() async throws {
        let warnings = AgentConfiguration.unknownEnvironmentVariables([
            "CX_AGENT_QUOTA_BYTE": "5000", "CX_AGENT_LISTEN_PORT": "0", "PATH": "/bin", "CX_AGENT_ZZZZZZZZZZZZZZ": "1",
        ])
        #expect(
            warnings == [
                "environment variable CX_AGENT_QUOTA_BYTE names no setting and is ignored "
                    + "(did you mean CX_AGENT_QUOTA_BYTES?)",
                "environment variable CX_AGENT_ZZZZZZZZZZZZZZ names no setting and is ignored",
            ])
        let dir = TempDir()
        let agent = try AgentProcess(dataDirectory: dir.path + "/a", environment: ["CX_AGENT_QUOTA_BYTE": "5000"])
        try await agent.waitUntilListening()
        agent.kill(SIGTERM)
        #expect(agent.stderr.contains("CX_AGENT_QUOTA_BYTE names no setting"), "\(agent.stderr)")
    }

    @Test func configurationFileAndEnvironmentOverrideDefaultsAndBadValuesAreNamed() throws {
        let dir = TempDir()
        let file = dir.path + "/agent.yaml"
        try "store_id: store-007\nlisten_port: 7400\nquota_bytes: 2097152\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let c = try AgentConfiguration.load(file: file, environment: ["CX_AGENT_LISTEN_PORT": "7500"])
        #expect(c.storeID == "store-007" && c.listenPort == 7500 && c.quotaBytes == 2_097_152)
        #expect(c.maxBodyBytes == AgentConfiguration().maxBodyBytes)
        #expect(throws: ConfigurationError.self) {
            try AgentConfiguration.load(file: file, environment: ["CX_AGENT_LISTEN_PORT": "seventy"])
        }
        try "listen_port: [1]\n".write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try AgentConfiguration.load(file: file, environment: [:])
            Issue.record("bad file accepted")
        } catch {
            #expect("\(error)".contains("listen_port"))
        }
    }

    /// A misspelt key kept its default silently, a YAML syntax error named no line, a flag could not correct a bad
    /// value from the environment, and every validation error said "setting 'key'" wherever the value came from.
    @Test(
        arguments: [
            ("quota_byte: 5000000000\n", [:], [:], "unknown setting 'quota_byte' (did you mean 'quota_bytes'?)"),
            (
                "store_id: s1\nlisten-port: 9000\n", [:], [:],
                "line 2: unknown setting 'listen-port' (did you mean 'listen_port'?)"
            ),
            ("store_id: [a\n", [:], [:], "not valid YAML: "),
            ("- a\n- b\n", [:], [:], "the file must be a mapping of settings"),
            ("pii_patterns:\n  - name: loyalty\n", [:], [:], "setting 'pii_patterns.Index 0.prefix' is required"),
            ("listen_port: 70000\n", [:], [:], "setting 'listen_port' (file "),
            (
                "store_id: s1\n", ["CX_AGENT_LISTEN_PORT": "70000"], [:],
                "setting 'listen_port' (environment variable CX_AGENT_LISTEN_PORT)"
            ),
            ("store_id: s1\n", ["CX_AGENT_LISTEN_PORT": "70000"], ["listen_port": "--listen-port"], ""),
        ] as [(String, [String: String], [String: String], String)])
    func settingsErrorsSayWhatAndWhere(
        file text: String, environment: [String: String], flags: [String: String], expected: String
    ) throws {
        let dir = TempDir()
        let file = dir.path + "/agent.yaml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            let c = try AgentConfiguration.load(file: file, environment: environment, flags: flags) { c in
                if flags["listen_port"] != nil { c.listenPort = 7301 }
            }
            #expect(expected.isEmpty, "accepted, expected \(expected)")
            #expect(c.listenPort == 7301, "the flag corrects the environment's value")
        } catch {
            #expect(!expected.isEmpty && "\(error)".contains(expected), "\(error)")
        }
    }
}
