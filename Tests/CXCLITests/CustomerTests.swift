import AsyncHTTPClient
import CXCore
import CXTestSupport
import Foundation
import NIOHTTP1
import Testing

@Suite("cx customer")
struct CustomerTests {
    @Test func timelineIsOrderedAndSpansChannelsAndStores() async throws {
        let seeded = try await SeededHub.shared()
        let rows = try CX.rows(["customer", "cust-1"], hub: seeded.hub)
        let expected = seeded.events.filter { $0.customer == "cust-1" }.sorted { $0.minutesAgo > $1.minutesAgo }
        #expect(rows.count == expected.count)
        let times = rows.compactMap { $0["occurred_at"] as? String }
        #expect(times == times.sorted())
        #expect(rows.compactMap { $0["channel"] as? String } == expected.map(\.channel.rawValue))
        #expect(Set(rows.compactMap { $0["store"] as? String }) == ["store-a", "store-b"])
        #expect(rows.allSatisfy { $0["customer_id"] as? String == "cust-1" && $0["event_id"] is String })
    }

    @Test func tableNamesTheChannels() async throws {
        let seeded = try await SeededHub.shared()
        let result = try CX.run(["customer", "cust-1"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.first?.hasPrefix("TIME") == true)
        #expect(result.lines.last == "4 events across 4 channels (kiosk, web, chat, mobile)")
    }

    @Test func limitKeepsTheOldest() async throws {
        let seeded = try await SeededHub.shared()
        let rows = try CX.rows(["customer", "cust-1", "--limit", "2"], hub: seeded.hub)
        #expect(rows.compactMap { $0["channel"] as? String } == ["kiosk", "web"])
        // the table says the timeline goes on, and does not when it is whole
        let cut = try CX.run(["customer", "cust-1", "--limit", "2"], environment: CX.environment(seeded.hub))
        #expect(
            cut.lines.last
                == "2 events across 2 channels (kiosk, web); the oldest 2 shown, more exist (--limit, up to 10000)")
        let whole = try CX.run(["customer", "cust-1", "--limit", "4"], environment: CX.environment(seeded.hub))
        #expect(whole.lines.last == "4 events across 4 channels (kiosk, web, chat, mobile)")
    }

    @Test(arguments: ["abc", "0", "10001", "-1", ""])
    func aLimitThatIsNotANumberInRangeIsRefused(limit: String) async throws {
        let seeded = try await SeededHub.shared()
        let answer = try await CX.request(seeded.hub, .GET, "/v1/customers/cust-1/timeline?limit=\(limit)")
        #expect(answer.status == 400)
        let object = answer.object
        #expect(object?["message"] as? String == "limit must be 1 to 10000, not '\(limit)'")
    }

    @Test func unknownCustomerHasAnEmptyTimeline() async throws {
        let seeded = try await SeededHub.shared()
        #expect(try CX.rows(["customer", "nobody"], hub: seeded.hub).isEmpty)
        let result = try CX.run(["customer", "nobody"], environment: CX.environment(seeded.hub))
        #expect(result.status == 0)
        #expect(result.lines.last == "no events for customer nobody")
    }
}
