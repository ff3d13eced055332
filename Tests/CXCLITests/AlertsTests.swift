import AsyncHTTPClient
import CXTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite("cx alerts")
struct AlertsTests {
    static func alert(_ id: String, _ seeded: SeededHub) throws -> [String: Any]? {
        try CX.rows(["alerts"], hub: seeded.hub).first { $0["alert_id"] as? String == id }
    }

    @Test func ackChangesStatusAndNote() async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        #expect(try Self.alert("alert-ack", seeded)?["status"] as? String == "open")
        let open = try CX.rows(["alerts", "--status", "open"], hub: seeded.hub)
        #expect(open.contains { $0["alert_id"] as? String == "alert-ack" })

        let result = try CX.run(
            ["alerts", "ack", "alert-ack", "--note", "calling the store"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "alert alert-ack acknowledged; status acknowledged\n")

        let after = try #require(try Self.alert("alert-ack", seeded))
        #expect(after["status"] as? String == "acknowledged")
        #expect(after["note"] as? String == "calling the store")
        let stillOpen = try CX.rows(["alerts", "--status", "open"], hub: seeded.hub)
        #expect(!stillOpen.contains { $0["alert_id"] as? String == "alert-ack" })
        let acknowledged = try CX.rows(["alerts", "--status", "acknowledged"], hub: seeded.hub)
        #expect(acknowledged.contains { $0["alert_id"] as? String == "alert-ack" })
    }

    @Test func resolveAndJSONOutputOfAChange() async throws {
        let seeded = try await SeededHub.shared()
        let object = try CX.json(["alerts", "resolve", "alert-resolve"], hub: seeded.hub) as? [String: Any]
        #expect(object?["alert_id"] as? String == "alert-resolve")
        #expect(object?["status"] as? String == "resolved")
        #expect(try Self.alert("alert-resolve", seeded)?["status"] as? String == "resolved")
    }

    @Test func assignSetsTheOwnerWithoutChangingStatus() async throws {
        let seeded = try await SeededHub.shared()
        let result = try CX.run(
            ["alerts", "assign", "alert-assign", "--to", "dana"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0, "\(result.stderr)")
        let after = try #require(try Self.alert("alert-assign", seeded))
        #expect(after["assignee"] as? String == "dana")
        #expect(after["status"] as? String == "open")
    }

    /// Notes and owners go downstream to the store's agents: the hub takes no more than the protocol carries.
    @Test func aNoteOrOwnerBeyondTheProtocolIsRefused() async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        let note = try CX.run(
            ["alerts", "ack", "alert-assign", "--note", String(repeating: "n", count: 4_097)], environment: environment)
        #expect(note.status == 1)
        #expect(note.stderr == "error: hub error invalid_field: note is 4097 bytes, longer than 4096\n")
        let owner = try CX.run(
            ["alerts", "assign", "alert-assign", "--to", String(repeating: "o", count: 257)], environment: environment)
        #expect(owner.stderr == "error: hub error invalid_field: assignee is 257 bytes, longer than 256\n")
        #expect(try Self.alert("alert-assign", seeded)?["status"] as? String == "open")
    }

    /// A change is answered with the alert as it now stands: `cx` shows it from that answer, not by looking for
    /// it among the 1,000 newest alerts (an older one came out as {alert_id, result} in --json).
    @Test func aChangeIsAnsweredWithTheAlert() async throws {
        let seeded = try await SeededHub.shared()
        let answer = try await CX.request(
            seeded.hub, .POST, "/v1/alerts/alert-answer/update", body: "{\"assignee\": \"lee\"}")
        #expect(answer.status == 200)
        let object = answer.object
        #expect(object?["alert_id"] as? String == "alert-answer")
        #expect(object?["assignee"] as? String == "lee")
        #expect(object?["status"] as? String == "open")
        #expect(object?["result"] as? String == "ok")
        let acked =
            try CX.json(["alerts", "ack", "alert-answer", "--note", "on it"], hub: seeded.hub) as? [String: Any]
        #expect(acked?["status"] as? String == "acknowledged")
        #expect(acked?["note"] as? String == "on it")
        #expect(acked?["assignee"] as? String == "lee")
    }

    /// A misspelt key ("asignee") moved the alert on and dropped the owner without a word.
    @Test func aChangeWithAnUnknownKeyIsRefused() async throws {
        let seeded = try await SeededHub.shared()
        let answer = try await CX.request(
            seeded.hub, .POST, "/v1/alerts/alert-answer/resolve", body: "{\"asignee\": \"lee\"}")
        #expect(answer.status == 400)
        let object = answer.object
        #expect(
            (object?["message"] as? String)?.hasPrefix("unknown key 'asignee'") == true, "\(String(describing: object))"
        )
        #expect(try Self.alert("alert-answer", seeded)?["status"] as? String != "resolved")
    }

    /// The hub answers the 1,000 newest alerts: a store's are chosen there, not among every store's by cx.
    @Test func theStoreFilterIsAppliedByTheHub() async throws {
        let seeded = try await SeededHub.shared()
        let client = try seeded.hub.client()
        let answer = try await seeded.hub.get(client, "/v1/alerts?store=store-b")
        try await client.shutdown()
        #expect(answer.0 == 200)
        let rows = try JSONSerialization.jsonObject(with: Data(answer.1.utf8)) as? [[String: Any]]
        #expect(rows?.compactMap { $0["alert_id"] as? String } == ["alert-b"])
        let listed = try CX.rows(["alerts", "--store", "store-b"], hub: seeded.hub)
        #expect(listed.compactMap { $0["alert_id"] as? String } == ["alert-b"])
    }

    @Test func unknownAlertReportsTheHubErrorCode() async throws {
        let seeded = try await SeededHub.shared()
        let result = try CX.run(["alerts", "ack", "no-such-alert"], environment: CX.environment(seeded.hub))
        #expect(result.status == 1)
        #expect(result.stderr == "error: hub error not_found: no alert 'no-such-alert' at this hub\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func unknownStatusIsRefusedLocally() throws {
        let result = try CX.run(["alerts", "--status", "snoozed"], environment: ["CX_HUB_URL": "https://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("snoozed"))
    }
}
