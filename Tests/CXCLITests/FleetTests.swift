import CXTestSupport
import Foundation
import Testing

@Suite("cx fleet")
struct FleetTests {
    @Test func tableHasTheColumnsAndASyncedAgent() async throws {
        let seeded = try await SeededHub.shared()
        let result = try CX.run(["fleet"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.lines
        let header = try #require(lines.first)
        let columns = header.split(separator: "  ", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            columns == [
                "AGENT", "STORE", "DEVICE", "STATUS", "LAST SYNC", "LAG", "EVENTS", "OLDEST UNSYNCED", "BUFFER",
                "CLOCK",
            ])
        let row = try #require(lines.first { $0.hasPrefix("agt-cli-a ") })
        let cells = row.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        #expect(cells[0...3] == ["agt-cli-a", "store-a", "kiosk-1", "ok"])
        #expect(cells.contains("\(seeded.agents[0].events.count)"))
        #expect(lines.contains { $0.hasPrefix("agt-cli-b ") })
        #expect(lines.last == "2 agents: 2 ok")
    }

    @Test func jsonCarriesCountsBufferAndClock() async throws {
        let seeded = try await SeededHub.shared()
        let rows = try CX.rows(["fleet"], hub: seeded.hub)
        #expect(rows.count == seeded.agents.count)
        for agent in seeded.agents {
            let row = try #require(rows.first { $0["agent_id"] as? String == agent.agentID })
            #expect(row["store"] as? String == agent.store)
            #expect(row["device"] as? String == agent.device)
            #expect(row["status"] as? String == "ok")
            #expect(row["events_synced"] as? Int == agent.events.count)
            #expect(row["buffer_depth"] as? Int == Int(agent.bufferDepth))
            #expect(row["high_water_mark"] as? Int == agent.events.count + agent.alerts.count)
            #expect(row["clock_offset_ms"] is Int)
            #expect(row["last_sync_at"] is String)
            if agent.bufferDepth > 0 {
                let age = try #require(row["oldest_unsynced_age_seconds"] as? Int)
                #expect((80...900).contains(age))
            } else {
                #expect(row["oldest_unsynced_age_seconds"] is NSNull)
            }
        }
    }
}
