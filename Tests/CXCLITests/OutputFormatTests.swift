import CXTestSupport
import Foundation
import Testing

@Suite("--csv and --json")
struct OutputFormatTests {
    /// A command, the CSV header it prints and how many rows the seed gives it.
    struct Case: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var header: [String]
        var rows: Int

        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(
            arguments: ["fleet"],
            header: [
                "agent_id", "store", "device", "status", "last_sync_at", "seconds_since_sync", "events_synced",
                "oldest_unsynced_age_seconds", "buffer_depth", "clock_offset_ms", "high_water_mark", "last_seq",
                "skewed", "bytes_received", "refusals", "last_error",
            ], rows: 2),
        Case(arguments: ["events", "--by", "store"], header: ["store", "events"], rows: 2),
        Case(
            arguments: ["events", "--all", "--by", "type", "channel"], header: ["type", "channel", "events"], rows: 7),
        Case(
            arguments: ["customer", "cust-1"],
            header: [
                "occurred_at", "customer_id", "channel", "store", "type", "journey_stage", "score", "sentiment",
                "intents", "text", "event_id",
            ], rows: 4),
        Case(
            arguments: ["alerts", "--store", "store-b"],
            header: ["alert_id", "store", "severity", "status", "rule", "summary", "assignee", "note", "raised_at"],
            rows: 1),
    ]

    @Test(arguments: cases)
    func csvHasHeaderAndOneRecordPerRow(_ c: Case) async throws {
        let seeded = try await SeededHub.shared()
        let result = try CX.run(c.arguments + ["--csv"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0, "\(result.stderr)")
        let records = CSV.parse(result.stdout)
        #expect(records.first == c.header)
        #expect(records.count == c.rows + 1)
        #expect(records.allSatisfy { $0.count == c.header.count })
    }

    @Test func csvQuotesCommasAndQuotes() async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        let value = "a, \"quoted\" value"
        let set = try CX.run(["config", "set", "store-q", "greeting", value], environment: environment)
        #expect(set.status == 0, "\(set.stderr)")
        let result = try CX.run(["config", "get", "store-q", "--csv"], environment: environment)
        #expect(result.stdout.contains("store-q,greeting,\"a, \"\"quoted\"\" value\"\r\n"))
        #expect(CSV.parse(result.stdout).last == ["store-q", "greeting", value])
    }

    /// Hub data holds what customers and stores wrote: no control character reaches the terminal, and no text cell
    /// of a CSV export starts a spreadsheet formula. JSON keeps the value as it is.
    @Test func hubTextCannotDriveTheTerminalOrASpreadsheet() async throws {
        let seeded = try await SeededHub.shared()
        let environment = CX.environment(seeded.hub)
        let value = "=HYPERLINK(\"http://x\",\"ok\")\u{1B}]52;c;aGk=\u{07}\u{1B}[2J\u{9B}done"
        let set = try CX.run(["config", "set", "store-esc", "greeting", value], environment: environment)
        #expect(set.status == 0, "\(set.stderr)")
        let table = try CX.run(["config", "get", "store-esc"], environment: environment)
        #expect(
            !table.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || (0x7F...0x9F).contains($0.value) })
        #expect(
            table.stdout.contains("=HYPERLINK(\"http://x\",\"ok\")\u{FFFD}]52;c;aGk=\u{FFFD}\u{FFFD}[2J\u{FFFD}done"))
        let csv = try CX.run(["config", "get", "store-esc", "--csv"], environment: environment)
        #expect(CSV.parse(csv.stdout).last == ["store-esc", "greeting", "'" + value])
        #expect(try CX.rows(["config", "get", "store-esc"], hub: seeded.hub).first?["value"] as? String == value)
        #expect(try CX.run(["config", "unset", "store-esc", "greeting"], environment: environment).status == 0)
    }

    @Test(arguments: cases)
    func jsonIsAnArrayWithTheSameKeys(_ c: Case) async throws {
        let seeded = try await SeededHub.shared()
        let rows = try CX.rows(c.arguments, hub: seeded.hub)
        #expect(rows.count == c.rows)
        #expect(rows.allSatisfy { Set($0.keys) == Set(c.header) })
    }

    @Test func jsonAndCSVTogetherAreRefused() throws {
        let result = try CX.run(["fleet", "--json", "--csv"], environment: ["CX_HUB_URL": "https://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--json and --csv"))
    }
}
