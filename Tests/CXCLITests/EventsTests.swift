import CXCore
import CXTestSupport
import Foundation
import Testing

@Suite("cx events")
struct EventsTests {
    /// What the counts should be for `dimensions`, from the seed, for events at most `maxMinutesAgo` old.
    static func expected(
        _ seeded: SeededHub, by dimensions: [String], maxMinutesAgo: Int64 = .max, store: String? = nil
    ) -> [String: Int] {
        var counts: [String: Int] = [:]
        for e in seeded.events where e.minutesAgo <= maxMinutesAgo && (store == nil || e.store == store) {
            let key = dimensions.map { d in
                switch d {
                case "store": e.store
                case "channel": e.channel.rawValue
                default: e.type.rawValue
                }
            }
            counts[key.joined(separator: "|"), default: 0] += 1
        }
        return counts
    }

    static func actual(_ rows: [[String: Any]], by dimensions: [String]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in rows {
            let key = dimensions.map { row[$0] as? String ?? "?" }.joined(separator: "|")
            counts[key, default: 0] += row["events"] as? Int ?? -1
        }
        return counts
    }

    @Test(arguments: [["store"], ["channel"], ["type"], ["store", "channel", "type"], ["channel", "store"]])
    func countsByDimensionEqualWhatWasSynced(dimensions: [String]) async throws {
        let seeded = try await SeededHub.shared()
        let rows = try CX.rows(["events", "--all", "--by", dimensions.joined(separator: ",")], hub: seeded.hub)
        #expect(rows.allSatisfy { Set($0.keys) == Set(dimensions + ["events"]) })
        #expect(Self.actual(rows, by: dimensions) == Self.expected(seeded, by: dimensions))
    }

    @Test(arguments: [("24h", Int64(1440)), ("7d", Int64(7 * 1440)), ("30d", Int64(30 * 1440)), ("1h30m", Int64(90))])
    func relativeWindowsCountOnlyRecentEvents(since: String, minutes: Int64) async throws {
        let seeded = try await SeededHub.shared()
        let rows = try CX.rows(["events", "--since", since, "--by", "store", "channel"], hub: seeded.hub)
        #expect(
            Self.actual(rows, by: ["store", "channel"])
                == Self.expected(seeded, by: ["store", "channel"], maxMinutesAgo: minutes))
    }

    @Test func absoluteWindowAndStoreFilter() async throws {
        let seeded = try await SeededHub.shared()
        let since = Date(timeIntervalSince1970: Double(seeded.startMillis) / 1000 - 3600)
        let formatter = ISO8601DateFormatter()
        let rows = try CX.rows(
            [
                "events", "--since", formatter.string(from: since), "--until", "now", "--store", "store-b",
                "--by", "type",
            ], hub: seeded.hub)
        let expected = Self.expected(seeded, by: ["type"], maxMinutesAgo: 60, store: "store-b")
        #expect(Self.actual(rows, by: ["type"]) == expected)
    }

    @Test func tableShowsGroupsAndTotal() async throws {
        let seeded = try await SeededHub.shared()
        let result = try CX.run(["events", "--by", "channel", "--all"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.lines
        #expect(lines.first?.split(separator: " ", omittingEmptySubsequences: true) == ["CHANNEL", "EVENTS"])
        let pos = try #require(lines.first { $0.hasPrefix("pos ") })
        #expect(pos.hasSuffix(" 4"))
        #expect(lines.last == "\(seeded.events.count) events, all time")
    }

    /// Without --since the window is the last 7 days: a bare `cx events` read every event the hub ever merged.
    @Test func withoutSinceTheWindowIsTheLastSevenDays() async throws {
        let seeded = try await SeededHub.shared()
        let before = Date()
        let result = try CX.run(["events", "--by", "channel"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0, "\(result.stderr)")
        let footer = try #require(result.lines.last)
        let recent = Self.expected(seeded, by: ["store"], maxMinutesAgo: 7 * 24 * 60 - 10).values.reduce(0, +)
        #expect(recent < seeded.events.count, "the seed holds an event older than 7 days")
        let prefix = "\(recent) events, since "
        #expect(footer.hasPrefix(prefix), "\(footer)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let start = try #require(formatter.date(from: String(footer.dropFirst(prefix.count))), "\(footer)")
        #expect(abs(start.timeIntervalSince(before) + 7 * 86_400) < 60)
        let both = try CX.run(["events", "--all", "--since", "1h"], environment: ["CX_HUB_URL": "https://127.0.0.1:1"])
        #expect(both.status == 64 && both.stderr.contains("--all and --since exclude each other"), "\(both.stderr)")
    }

    @Test(arguments: [
        ["--by", "region"], ["--since", "yesterday-ish"], ["--since", "1h", "--until", "2h"],
        ["--since", "8000000000w8000000000w"], ["--until", "2024-01-01"],
    ])
    func badArgumentsAreRefusedBeforeAnyRequest(arguments: [String]) throws {
        let result = try CX.run(["events"] + arguments, environment: ["CX_HUB_URL": "https://127.0.0.1:1"])
        #expect(result.status != 0)
        #expect(!result.stderr.isEmpty)
        #expect(!result.stderr.contains("cannot reach hub"))
        #expect(result.status == 64 && result.stderr.hasPrefix("Error: "), "\(result.stderr)")
    }
}
