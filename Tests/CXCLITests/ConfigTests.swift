import AsyncHTTPClient
import CXTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite("cx config")
struct ConfigTests {
    @Test func setThenGetThenUnset() async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        let set = try CX.run(["config", "set", "*", "sentiment_threshold", "-0.4"], environment: environment)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout == "sentiment_threshold = -0.4 for scope *\n")

        let rows = try CX.rows(["config", "get", "*", "sentiment_threshold"], hub: seeded.hub)
        #expect(rows.count == 1)
        #expect(rows.first?["value"] as? String == "-0.4")

        let table = try CX.run(["config"], environment: environment)
        #expect(
            table.lines.contains { $0.hasPrefix("*") && $0.contains("sentiment_threshold") && $0.hasSuffix("-0.4") })

        let unset = try CX.run(["config", "unset", "*", "sentiment_threshold"], environment: environment)
        #expect(unset.status == 0, "\(unset.stderr)")
        let after = try CX.rows(["config", "get", "*", "sentiment_threshold"], hub: seeded.hub)
        #expect(after.allSatisfy { ($0["value"] as? String ?? "").isEmpty })
    }

    /// An alert setting out of range is refused at the hub, not sent to every store: an agent would not apply it.
    @Test func anAlertSettingOutOfRangeIsRefused() async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        let set = try CX.run(
            ["config", "set", "store-cfg", "alert_cooldown_seconds", "99999999999999999"], environment: environment)
        #expect(set.status != 0)
        #expect(
            set.stderr.contains(
                "alert_cooldown_seconds: '99999999999999999' is not a whole number of seconds from 0 to 2592000"),
            "\(set.stderr)")
        #expect(try CX.rows(["config", "get", "store-cfg"], hub: seeded.hub).isEmpty)
        let ok = try CX.run(["config", "set", "store-cfg", "alert_cooldown_seconds", "600"], environment: environment)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try CX.rows(["config", "get", "store-cfg"], hub: seeded.hub).count == 1)
        #expect(
            try CX.run(["config", "unset", "store-cfg", "alert_cooldown_seconds"], environment: environment).status == 0
        )
    }

    /// null removes a setting; a body without `value` (a misspelt key, `{}`) is refused and changes nothing.
    @Test(arguments: ["{}", "{\"valeu\": \"-0.3\"}", "[]", "{\"value\": 3}"])
    func aBodyWithoutAValueIsRefusedAndKeepsTheSetting(body: String) async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        let scope = "store-body-\(body.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFF })"
        let set = try CX.run(["config", "set", scope, "sentiment_threshold", "-0.4"], environment: environment)
        #expect(set.status == 0, "\(set.stderr)")
        let answer = try await CX.request(seeded.hub, .PUT, "/v1/config/\(scope)/sentiment_threshold", body: body)
        #expect(answer.status == 400)
        let object = answer.object
        #expect(object?["code"] as? String == "invalid_request")
        #expect((object?["message"] as? String)?.contains("\"value\" is required") == true)
        let rows = try CX.rows(["config", "get", scope, "sentiment_threshold"], hub: seeded.hub)
        #expect(rows.first?["value"] as? String == "-0.4")
    }

    @Test func setNeedsExactlyOneValue() throws {
        let result = try CX.run(["config", "set", "*", "x"], environment: ["CX_HUB_URL": "https://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("exactly one value"))
    }
}
