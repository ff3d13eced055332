import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Testing

@testable import CXHub

/// Queries over what agents reported: one agent's report must never trap the hub that serves the whole fleet.
@Suite("Hub queries over agents' reports")
struct HubQueryTests {
    @Test(
        "the fleet's ages are computed without overflow, whatever an agent's row holds",
        arguments: [
            (Int64.max, Int64(1000)), (Int64.max, Int64.max), (Int64.min + 1, Int64(-1000)), (Int64(1), Int64.min),
        ] as [(Int64, Int64)])
    func fleetAgesDoNotTrap(oldest: Int64, offset: Int64) async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let agent = try await EventIndexTests.agent(store, "store-a")
        let now = HubStore.nowMillis()
        try await store.pool.write {
            try $0.execute(
                sql: """
                    UPDATE agents SET last_sync_at = ?, buffer_depth = 1, oldest_unsynced_ms = ?, clock_offset_ms = ?
                    WHERE agent_id = ?
                    """,
                arguments: [now, oldest, offset, agent.agentID])
        }
        for staleAfter in [Duration.seconds(300), .seconds(Int64.max)] {
            let rows = try await store.fleet(staleAfter: staleAfter)
            let row = try #require(rows.first)
            #expect(row.status == "ok")
            if oldest > 0 {
                let age = try #require(row.oldestUnsyncedAgeSeconds)
                #expect(age >= 0)
            } else {
                #expect(row.oldestUnsyncedAgeSeconds == nil)
            }
        }
    }

    @Test func ageSecondsSaturates() {
        let now: Int64 = 1_800_000_000_000
        #expect(HubStore.ageSeconds(now: now, agentMillis: now - 5_000, offset: 0) == 5)
        #expect(HubStore.ageSeconds(now: now, agentMillis: now - 5_000, offset: 2_000) == 3)
        #expect(HubStore.ageSeconds(now: now, agentMillis: now + 5_000, offset: 0) == 0)
        #expect(HubStore.ageSeconds(now: now, agentMillis: .max, offset: 1) == 0)
        #expect(HubStore.ageSeconds(now: now, agentMillis: .min, offset: -1) == Int64.max / 1000)
        #expect(HubStore.ageSeconds(now: .max, agentMillis: -2, offset: 0) == Int64.max / 1000)
    }

    /// The hub's settings are LWW registers keyed by a store or "*"; an erasure deletes a customer's registers only.
    @Test("erasing a subject spelt like a settings scope leaves the hub's settings alone", arguments: ["*", "store-a"])
    func erasureKeepsSettings(subject: String) async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        try await store.setConfig(scope: subject, name: "alert_sentiment_threshold", value: "-0.3")
        try await store.pool.write {
            try $0.execute(
                sql: """
                    INSERT INTO lww (collection, key, field, value, hlc, node)
                    VALUES ('profile', ?, 'tier', 'gold', 1, 'agent-x'), ('theme_owner', ?, 'checkout', 'ops', 1, 'hub')
                    """,
                arguments: [subject, subject])
        }
        _ = try await store.erase(subject: "0123456789abcdef0123456789abcdef", unhashed: subject)
        let config = try await store.configEntries()
        #expect(config == [["scope": subject, "name": "alert_sentiment_threshold", "value": "-0.3"]])
        let left = try await store.pool.read {
            try String.fetchAll(
                $0, sql: "SELECT collection FROM lww WHERE key = ? ORDER BY collection", arguments: [subject])
        }
        #expect(left == ["config", "theme_owner"])
    }

    /// A re-enrolled agent id is a new box: the old box's report (last sync, buffer, clock) must not show as its own.
    @Test func aReEnrolledAgentStartsWithoutTheOldBoxsReport() async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let agent = try await EventIndexTests.agent(store, "store-a")
        let now = HubStore.nowMillis()
        try await store.pool.write {
            try $0.execute(
                sql: """
                    UPDATE agents SET last_sync_at = ?, buffer_depth = 9, oldest_unsynced_ms = ?, clock_offset_ms = 5000,
                        skewed = 1, agent_version = 'old'
                    WHERE agent_id = ?
                    """,
                arguments: [now - 1_000, now - 60_000, agent.agentID])
        }
        #expect(try await store.fleet(staleAfter: .seconds(300)).first?.status == "clock_skewed")
        try store.revoke(agentID: agent.agentID)
        let token = try store.issueEnrollmentToken(store: "store-a", device: "kiosk-2", ttl: .seconds(60))
        _ = try await store.enroll(
            token: token.token, agentID: agent.agentID, publicKey: AgentSigningKey().publicKey.rawRepresentation)
        let row = try #require(try await store.fleet(staleAfter: .seconds(300)).first)
        #expect(row.status == "never_synced")
        #expect(row.device == "kiosk-2")
        #expect(row.bufferDepth == 0 && row.oldestUnsyncedAgeSeconds == nil && row.clockOffsetMillis == 0)
        #expect(!row.skewed)
    }

    /// An agent that stopped syncing shows `stale` even when its clock was flagged: that is the more urgent news.
    @Test func aStaleAgentShowsStaleBeforeItsClock() async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let agent = try await EventIndexTests.agent(store, "store-a")
        try await store.pool.write {
            try $0.execute(
                sql: "UPDATE agents SET last_sync_at = ?, skewed = 1 WHERE agent_id = ?",
                arguments: [HubStore.nowMillis() - 3_600_000, agent.agentID])
        }
        let row = try #require(try await store.fleet(staleAfter: .seconds(300)).first)
        #expect(row.status == "stale")
        #expect(row.skewed)
    }

    /// A hub write is stamped after the register it replaces: a store's note stamped ahead of the hub's clock (within
    /// the drift) and a setting stamped by the hub before a crash (its clock then resumes from an older save) both
    /// beat a CX lead's later write, answered "ok" and lost.
    @Test func aLeadsWriteWinsOverAStampAheadOfTheHubsClock() async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let ahead = Int64(bitPattern: HLCTimestamp(wallMillis: HubStore.nowMillis() + 100_000, counter: 0).rawValue)
        try await store.setConfig(scope: "*", name: "alert_cooldown_seconds", value: "600")
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE lww SET hlc = ? WHERE collection = 'config'", arguments: [ahead])
            try db.execute(
                sql: """
                    INSERT INTO alerts (alert_id, store_id, rule, severity, summary, raised_hlc, status, note, note_hlc,
                        note_node, updated_at)
                    VALUES ('a-1', 'store-a', 'complaint', 'info', 's', 1, 0, 'store note', ?, 'agent-x', 0)
                    """, arguments: [ahead])
        }
        try await store.setConfig(scope: "*", name: "alert_cooldown_seconds", value: "900")
        #expect(try await store.configEntries().first?["value"] == "900")
        try await store.updateAlert(id: "a-1", status: nil, note: "lead's note", assignee: nil)
        #expect(try await store.alert(id: "a-1")?.note == "lead's note")
    }

    /// An ack carries at most about a MiB of downstream items, whatever their count: 500 copies of a long setting
    /// made an ack far larger than a frame.
    @Test func theDownstreamIsBoundedInBytes() async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let long = String(repeating: "x", count: 4_000)
        for i in 0..<400 { try await store.setConfig(scope: "*", name: "note_\(i)", value: long + "\(i)") }
        let (first, second) = try await store.pool.read { db in
            let first = try store.downstream(db, after: 0, store: "store-a", limit: 500)
            return (first, try store.downstream(db, after: first.cursor, store: "store-a", limit: 500))
        }
        let bytes = first.config.reduce(0) { $0 + $1.value.utf8.count }
        #expect(first.more)
        #expect(bytes <= HubStore.maxDownstreamBytes && first.config.count < 400, "\(first.config.count) items")
        #expect(first.config.count + second.config.count == 400 && !second.more)
    }

    /// A downstream cursor above what this hub ever issued to the agent (the hub restored from a backup, the box's
    /// buffer from another hub) skipped, for good, every item the hub numbered below it since, erasures among them.
    @Test func aCursorThisHubNeverIssuedIsServedFromWhatItIssued() async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        for i in 0..<3 { try await store.setConfig(scope: "*", name: "setting_\(i)", value: "v") }
        _ = try await store.erase(subject: "0123456789abcdef0123456789abcdef")
        var poll = a.batch(1...1, events: [])
        poll.seqFrom = 0
        poll.seqTo = 0
        poll.poll = true
        poll.downstreamCursor = 50
        let reply = await endpoint.handle(a.frame(poll))
        #expect(reply.status == 200)
        let decoder = FrameDecoder()
        let ack = try decoder.decode(
            Cxsync_V1_Ack.self, from: decoder.payload(of: reply.frame, header: decoder.header(of: reply.frame)))
        #expect(ack.downstream.config.count == 3)
        #expect(ack.downstream.erasures.map(\.subject) == ["0123456789abcdef0123456789abcdef"])
    }
}
