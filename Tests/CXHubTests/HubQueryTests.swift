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
}
