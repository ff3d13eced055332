import AsyncHTTPClient
import CXCore
import CXTestSupport
import Foundation
import Testing

@Suite("cx erase")
struct EraseTests {
    static let person = "0123456789abcdef0123456789abcdef"
    static let linked = "fedcba98765432100123456789abcdef"
    static let other = "00000000000000000000000000000001"

    /// A hub of its own: an erasure changes what every other test of the shared hub would see.
    static func hub() async throws -> HubProcess {
        let hub = try await HubProcess.start()
        let agent = SeedAgent(
            agentID: "agt-erase", store: "store-e", device: "kiosk-e",
            events: [
                SeedEvent(store: "store-e", channel: .kiosk, type: .feedback, customer: person, minutesAgo: 5),
                SeedEvent(store: "store-e", channel: .web, type: .feedback, customer: person, minutesAgo: 4),
                SeedEvent(store: "store-e", channel: .chat, type: .chatMessage, customer: linked, minutesAgo: 3),
                SeedEvent(store: "store-e", channel: .kiosk, type: .feedback, customer: other, minutesAgo: 2),
            ], alerts: [], bufferDepth: 0, links: [(person, linked)])
        let client = try hub.client()
        do {
            try await SeededHub.sync(agent, to: hub, client: client, now: Int64(Date().timeIntervalSince1970 * 1000))
            try await client.shutdown()
        } catch {
            try await client.shutdown()
            throw error
        }
        return hub
    }

    /// The timeline shows linked identifiers as one customer; the erasure takes the one named, says which linked
    /// ones stay, and a keyed hash typed in capitals is the same hash.
    @Test func theErasureNamesTheLinkedIdentifiersItKeeps() async throws {
        let hub = try await Self.hub()
        let environment = CX.environment(hub)
        #expect(try CX.rows(["customer", Self.person], hub: hub).count == 3)
        let result = try CX.run(["erase", Self.person.uppercased(), "--yes"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains(
                "warning: 1 identifier was linked to it and not erased (\(Self.linked)); erase each that belongs to the same person"
            ), "\(result.stdout)")
        #expect(result.stdout.contains("erased: 2 events deleted at the hub"), "\(result.stdout)")
        #expect(try CX.rows(["customer", Self.person], hub: hub).isEmpty)
        #expect(try CX.rows(["customer", Self.linked], hub: hub).count == 1)
        let json = try CX.json(["erase", Self.other, "--yes"], hub: hub) as? [String: Any]
        #expect(json?["linked_kept"] as? [String] == [])
        #expect(json?["events_deleted"] as? Int == 1)
        hub.kill(SIGTERM)
    }
}
