import AsyncHTTPClient
@testable import CXAgent
import CXCore
import CXInsight
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Hummingbird
import NIOCore
import NIOHTTP1
import SwiftProtobuf
import Synchronization
import Testing

/// A webhook receiver on loopback that records what it is sent; it can refuse the first deliveries.
final class WebhookReceiver: @unchecked Sendable {
    let received = Mutex<[String]>([])
    let refuseFirst: Int
    let refusal: HTTPResponse.Status
    let port = Mutex(0)
    let attempts = Mutex(0)
    /// GETs of the place a redirect named: a delivery that followed it, without its body.
    let redirected = Mutex(0)

    init(refuseFirst: Int, refusal: HTTPResponse.Status = .serviceUnavailable) {
        self.refuseFirst = refuseFirst
        self.refusal = refusal
    }

    func application() -> some ApplicationProtocol {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let n = self.attempts.withLock {
                $0 += 1; return $0
            }
            if n <= self.refuseFirst {
                var headers = HTTPFields()
                if self.refusal.code >= 300 && self.refusal.code < 400 { headers[.location] = "/elsewhere" }
                return Response(status: self.refusal, headers: headers)
            }
            self.received.withLock { $0.append(String(buffer: body)) }
            return Response(status: .ok)
        }
        router.get("/elsewhere") { _, _ -> Response in
            self.redirected.withLock { $0 += 1 }
            return Response(status: .ok)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.withLock { $0 = channel.localAddress?.port ?? 0 } })
    }

    /// Runs the receiver, and `body` with a buffer and an ingest service whose alerts go to it.
    func withAgent(_ body: (BufferStore, IngestService, _ url: String) async throws -> Void) async throws {
        let app = application()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            while port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let url = "http://127.0.0.1:\(port.withLock { $0 })/hook"
            let dir = TempDir()
            var c = AgentConfiguration()
            c.dataDirectory = dir.path
            c.alertWebhookURL = url
            let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
            try await body(store, try IngestService(store: store, configuration: c), url)
            try store.close()
            group.cancelAll()
        }
    }
}

@Suite("Insight in the agent", .serialized)
struct InsightWiringTests {
    static func line(
        _ id: UUID, text: String, score: Int, customer: String, channel: String = "kiosk", attributes: String = "{}"
    ) -> String {
        "{\"event_id\":\"\(id.uuidString.lowercased())\",\"store_id\":\"store-001\",\"device_id\":\"kiosk-1\","
            + "\"channel\":\"\(channel)\",\"ts\":\(Int64(Date().timeIntervalSince1970 * 1000)),\"type\":\"survey_nps\","
            + "\"score\":\(score),\"customer_id\":\"\(customer)\",\"text\":\"\(text)\",\"attributes\":\(attributes)}"
    }

    /// The agent's buffer, opened read-only.
    static func buffer(_ directory: String) throws -> DatabaseQueue {
        try readOnlyDatabase(directory + "/buffer.sqlite")
    }

    /// What the buffer stores for each event, read from the SQLite file itself (the compact row put back
    /// together: event id and occurred_at from their columns, themes from their codes).
    static func storedEvents(_ directory: String) throws -> [Cxsync_V1_Event] {
        try buffer(directory).read { db in
            var themes: [UInt8: Cxsync_V1_Theme] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT code, dimension, value FROM theme_codes") {
                var t = Cxsync_V1_Theme()
                t.dimension = row[1]
                t.value = row[2]
                themes[UInt8(row[0] as Int)] = t
            }
            return try Row.fetchAll(
                db, sql: "SELECT payload, event_id, occurred_at, theme_codes FROM events ORDER BY seq"
            )
            .map { row in
                var e = try Cxsync_V1_Event(serializedBytes: [UInt8](row[0] as Data))
                if e.eventID.isEmpty { e.eventID = row[1] }
                if e.occurredAtMs == 0 { e.occurredAtMs = row[2] }
                if let codes = row[3] as Data? {
                    e.enrichment.themes = codes.compactMap { themes[$0] } + e.enrichment.themes
                }
                return e
            }
        }
    }

    static func modelVersions(_ directory: String) throws -> [String] {
        try buffer(directory).read { db in
            try String.fetchAll(db, sql: "SELECT version FROM model_versions ORDER BY first_seq")
        }
    }

    /// Posted scores reach the alert rules on their own scale and unrounded: a CES of 4 on the 1-5 scale is high
    /// effort (the 1-7 threshold of 5 let only a 5 of 5 through), a 3 of 5 is not; a CSAT of 2.4 is not "at or below
    /// 2" and an NPS of 6.4 is not a detractor (both were rounded to one).
    @Test func scoresReachTheRulesOnTheirOwnScale() async throws {
        func line(_ store: String, _ type: String, _ score: String, _ scale: String) -> String {
            "{\"event_id\":\"\(UUID().uuidString.lowercased())\",\"store_id\":\"\(store)\",\"device_id\":\"k-1\","
                + "\"channel\":\"kiosk\",\"ts\":\(Int64(Date().timeIntervalSince1970 * 1000)),\"type\":\"\(type)\","
                + "\"score\":\(score),\"score_scale\":\"\(scale)\"}"
        }
        let body = [
            line("ces5-4", "survey.ces", "4", "ces_1_5"), line("ces5-3", "survey.ces", "3", "ces_1_5"),
            line("ces7-5", "survey.ces", "5", "ces_1_7"), line("ces7-4", "survey.ces", "4", "ces_1_7"),
            line("csat-2.4", "survey.csat", "2.4", "csat_1_5"), line("csat-2", "survey.csat", "2", "csat_1_5"),
            line("nps-6.4", "survey.nps", "6.4", "nps_0_10"), line("nps-6", "survey.nps", "6", "nps_0_10"),
        ].joined(separator: "\n")
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let service = IngestService(
            store: store, configuration: c, enricher: try EventEnricher(fleetKey: Array(repeating: 5, count: 32)))
        let response = try await service.ingest(body: Array(body.utf8), contentType: nil)
        #expect(response.status == 200)
        let alerts = try await store.alerts(status: nil)
        #expect(
            Set(alerts.map { "\($0.storeID) \($0.rule)" })
                == ["ces5-4 high-effort", "ces7-5 high-effort", "csat-2 csat-low", "nps-6 nps-detractor"])
        #expect(alerts.first { $0.storeID == "ces5-4" }?.summary.contains("(score 4 of 5)") == true, "\(alerts)")
        try store.close()
    }

    @Test func rawPIINeverReachesTheDatabaseAndEventsCarryTheirEnrichment() async throws {
        let dir = TempDir()
        let agent = try AgentProcess(dataDirectory: dir.path + "/a")
        try await agent.waitUntilListening()
        let body = [
            Self.line(
                UUID(), text: "Charged twice!! call me on +44 7700 900123 or jane.doe@example.com", score: 2,
                customer: "jane.doe@example.com"),
            Self.line(
                UUID(), text: "Great staff, order 12345678 arrived on 2024-05-01 for $19.99", score: 10,
                customer: "LOY-778812",
                attributes: "{\"receipt_email\":\"sam.r@example.org\",\"callback\":\"ring +1 415 555 0134 after 5\","
                    + "\"card\":\"4111 1111 1111 1111\",\"order\":\"12345678\",\"sku\":\"SKU-4412-B\"}"),
        ].joined(separator: "\n")
        let (status, text, _) = try await agent.post(Array(body.utf8))
        #expect(status == 200, "\(text)")
        agent.kill(SIGTERM)
        let stored = try Self.storedEvents(dir.path + "/a")
        try #require(stored.count == 2)
        let raw = stored.map { String(decoding: try! $0.serializedBytes() as [UInt8], as: UTF8.self) }.joined()
        for secret in [
            "7700 900123", "jane.doe@example.com", "LOY-778812", "sam.r@example.org", "555 0134", "4111 1111",
        ] {
            #expect(!raw.contains(secret), "'\(secret)' must not be stored")
        }
        #expect(stored[0].text.contains("Charged twice"))
        #expect(
            stored[1].text.contains("12345678") && stored[1].text.contains("$19.99"),
            "no false masks: \(stored[1].text)")
        // attribute values are masked as the text is, with no false masks either; their names are kept
        let attributes = Dictionary(uniqueKeysWithValues: stored[1].attributes.map { ($0.key, $0.value) })
        #expect(Set(attributes.keys) == ["receipt_email", "callback", "card", "order", "sku"])
        #expect(attributes["order"] == "12345678" && attributes["sku"] == "SKU-4412-B", "\(attributes)")
        #expect(
            attributes["callback"]?.hasPrefix("ring ") == true && attributes["callback"]?.hasSuffix(" after 5") == true)
        // The buffer keeps the keyed hash as its 16 bytes, intents as spans of the text and the sentiment as
        // integers; expanded for the hub, they are the hash's hex, the phrases and the floats.
        let expanded = try stored.map { e in
            var wire = e
            try wire.expandStoredForms()
            return wire
        }
        for (e, wire) in zip(stored, expanded) {
            #expect(e.customerID.isEmpty && e.storedCustomerKey.count == 16)
            let key = wire.customerID
            #expect(key.count == 32 && key.allSatisfy { "0123456789abcdef".contains($0) }, "keyed hash: \(key)")
            #expect(e.hasEnrichment)
        }
        #expect(try Self.modelVersions(dir.path + "/a") == [InsightEngine.modelVersion], "recorded once, by seq range")
        #expect(stored[0].enrichment.intents.isEmpty && !stored[0].enrichment.storedIntentSpans.isEmpty)
        #expect(expanded[0].enrichment.intents.contains { $0.kind == .complaint && $0.phrase == "Charged twice" })
        #expect(stored[0].enrichment.flags.contains("pii_masked"))
        #expect(stored[1].enrichment.compound == 0 && stored[1].enrichment.storedSentiment.count == 4)
        #expect(expanded[1].enrichment.compound > 0.3)
    }

    @Test func alertsAreRaisedServedAcknowledgedAndDeliveredWhileOffline() async throws {
        let receiver = WebhookReceiver(refuseFirst: 2)
        let app = receiver.application()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            while receiver.port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            let dir = TempDir()
            let agent = try AgentProcess(
                dataDirectory: dir.path + "/a",
                environment: ["CX_AGENT_ALERT_WEBHOOK_URL": "http://127.0.0.1:\(receiver.port.withLock { $0 })/hook"])
            try await agent.waitUntilListening()
            // Not enrolled: no hub at all. Ten detractors from one queue: cooldown and de-duplication raise
            // far fewer than ten alerts.
            let lines = (0..<10).map { i in
                Self.line(
                    UUID(), text: "Still waiting for my refund, this is ridiculous", score: 1, customer: "cust-\(i)")
            }
            let (status, text, _) = try await agent.post(Array(lines.joined(separator: "\n").utf8))
            #expect(status == 200, "\(text)")
            let (_, listed) = try await agent.get("/v1/alerts?status=open")
            let alerts = try JSONDecoder().decode([StoredAlert].self, from: Data(listed.utf8))
            #expect(!alerts.isEmpty && alerts.count < 10, "\(alerts.count) alerts for 10 angry events")
            let first = try #require(alerts.first)
            func acknowledge(note: String) async throws -> (HTTPResponseStatus, String) {
                var request = HTTPClientRequest(url: agent.baseURL + "/v1/alerts/\(first.alertID)/acknowledge")
                request.method = HTTPMethod.POST
                let body = try JSONSerialization.data(withJSONObject: ["note": note])
                request.body = .bytes(ByteBuffer(bytes: body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                return (response.status, text)
            }
            // A note longer than the protocol carries would stall the store's sync at the hub: refused, not stored.
            let (long, refusal) = try await acknowledge(note: String(repeating: "a", count: 4_097))
            #expect(long == .badRequest && refusal.contains("\"invalid_field\"") && refusal.contains("4097 bytes"))
            #expect(try await agent.get("/v1/alerts").1.contains("aaaa") == false)
            // PII in a note is masked before it is stored, as in an event's text.
            let (masked, _) = try await acknowledge(note: "manager on the floor, called maria.l@example.com")
            #expect(masked == .ok)
            let (_, after) = try await agent.get("/v1/alerts")
            let updated = try JSONDecoder().decode([StoredAlert].self, from: Data(after.utf8))
            #expect(updated.first { $0.alertID == first.alertID }?.status == "acknowledged")
            #expect(updated.first { $0.alertID == first.alertID }?.note == "manager on the floor, called [EMAIL]")
            var unknown = HTTPClientRequest(url: agent.baseURL + "/v1/alerts/nope/resolve")
            unknown.method = HTTPMethod.POST
            #expect(
                try await HTTPClient.shared.execute(unknown, timeout: .seconds(10)).status
                    == HTTPResponseStatus.notFound)
            // The webhook refuses twice, then takes every alert (retries survive a restart). Delivery is at least
            // once: a delivery the killed agent made but had not yet marked done is made again after the restart.
            agent.kill(SIGKILL)
            let again = try AgentProcess(
                dataDirectory: dir.path + "/a",
                environment: ["CX_AGENT_ALERT_WEBHOOK_URL": "http://127.0.0.1:\(receiver.port.withLock { $0 })/hook"])
            try await again.waitUntilListening()
            let ids = Set(alerts.map(\.alertID))
            func allDelivered() -> Bool {
                let delivered = receiver.received.withLock { $0 }
                return ids.allSatisfy { id in delivered.contains { $0.contains(id) } }
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while !allDelivered() && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(allDelivered())
            let delivered = receiver.received.withLock { $0 }
            #expect(delivered.allSatisfy { body in ids.contains { body.contains($0) } }, "only these alerts")
            // No retry storm: each alert at most twice (the one in flight at the kill is made again, and under a loaded
            // suite a delivery the receiver answered after the client's 10 s timeout is too: once, about 25 s of
            // this test's 30 s in a CI run, 5 deliveries of 3 alerts).
            for id in ids {
                #expect(delivered.filter { $0.contains(id) }.count <= 2, "\(id) delivered more than twice")
            }
            again.kill(SIGTERM)
            group.cancelAll()
        }
    }
}

/// A webhook that refuses a delivery itself (a 4xx other than 408, 425, 429) is given up after a few attempts; one
/// that is down is retried for about a day. Before, every delivery was retried for ever and the queue, which counts
/// toward the buffer's quota, grew until ingest answered 503.
@Test(
    "the webhook retry policy",
    arguments: [
        (1, 503 as Int?, WebhookRetryPolicy.Decision.retry(afterMillis: 1000)),
        (3, nil, .retry(afterMillis: 4000)), (12, 500, .retry(afterMillis: 300_000)),
        (4, 404, .retry(afterMillis: 8000)), (5, 404, .abandon(reason: "the webhook refused it 5 times (HTTP 404)")),
        (5, 429, .retry(afterMillis: 16_000)), (5, 408, .retry(afterMillis: 16_000)),
        (5, 302, .abandon(reason: "the webhook refused it 5 times (HTTP 302)")),
        (299, nil, .retry(afterMillis: 300_000)), (300, 503, .abandon(reason: "300 attempts failed")),
    ] as [(Int, Int?, WebhookRetryPolicy.Decision)])
func webhookRetryPolicy(attempts: Int, status: Int?, decision: WebhookRetryPolicy.Decision) {
    #expect(WebhookRetryPolicy().decide(attempts: attempts, status: status) == decision)
}

@Test func aDeliveryTheWebhookRefusesIsGivenUpAndCounted() async throws {
    for (refusal, givenUp) in [(HTTPResponse.Status.notFound, true), (.serviceUnavailable, false), (.found, true)] {
        let receiver = WebhookReceiver(refuseFirst: 1_000, refusal: refusal)
        try await receiver.withAgent { store, ingest, url in
            // an NPS detractor without a complaint: one alert, one delivery
            let line = InsightWiringTests.line(UUID(), text: "fine", score: 1, customer: "c-1")
            #expect(try await ingest.ingest(body: Array(line.utf8), contentType: nil).status == 200)
            #expect(try await store.pendingWebhooks() == 1)
            var policy = WebhookRetryPolicy()
            policy.baseMillis = 1
            policy.maxDelayMillis = 1
            let service = AlertWebhookService(store: store, url: url, logger: testLogger, policy: policy)
            let client = AlertWebhookService.makeClient()
            for _ in 0..<8 {
                try await service.deliverDue(client)
                try await Task.sleep(for: .milliseconds(20))
            }
            try await client.shutdown()
            let stats = try await store.stats()
            #expect(stats.webhookPending == (givenUp ? 0 : 1), "\(refusal)")
            #expect(stats.webhookAbandonedTotal == (givenUp ? 1 : 0))
            #expect(receiver.attempts.withLock { $0 } == (givenUp ? 5 : 8))
            #expect(stats.webhookFailuresTotal == (givenUp ? 5 : 8))
            #expect(stats.webhookDeliveredTotal == 0)
            #expect(receiver.redirected.withLock { $0 } == 0, "a redirect is not followed")
        }
    }
}

/// A delivery the webhook refuses (4xx) no longer ends the queue's pass: the next alert goes out in the same pass. An
/// endpoint failing with 5xx, or asking to slow down (429), still ends it (the rest would fail too, each spending an
/// attempt).
@Test(arguments: [(HTTPResponse.Status.unprocessableContent, 1), (.serviceUnavailable, 0), (.tooManyRequests, 0)])
func aRefusedDeliveryDoesNotHoldBackTheNext(refusal: HTTPResponse.Status, deliveredInOnePass: Int) async throws {
    let receiver = WebhookReceiver(refuseFirst: 1, refusal: refusal)
    try await receiver.withAgent { store, ingest, url in
        // two stores, one NPS detractor each: two alerts, two deliveries
        let body = ["store-001", "store-002"].map {
            InsightWiringTests.line(UUID(), text: "fine", score: 1, customer: "c-1")
                .replacingOccurrences(of: "store-001", with: $0)
        }
        #expect(try await ingest.ingest(body: Array(body.joined(separator: "\n").utf8), contentType: nil).status == 200)
        #expect(try await store.pendingWebhooks() == 2)
        let service = AlertWebhookService(store: store, url: url, logger: testLogger)
        let client = AlertWebhookService.makeClient()
        try await service.deliverDue(client)
        try await client.shutdown()
        #expect(receiver.attempts.withLock { $0 } == 1 + deliveredInOnePass)
        #expect(receiver.received.withLock { $0.count } == deliveredInOnePass)
        #expect(try await store.pendingWebhooks() == 2 - deliveredInOnePass)
    }
}

/// Both ways the agent enriches (the packed path, and the full one for taxonomies that do not pack) mask attribute
/// values before the commit.
@Test("attribute values are masked on both enrichment paths", arguments: [false, true])
func attributeValuesAreMasked(packed: Bool) throws {
    let enricher = try EventEnricher(fleetKey: Array(repeating: 3, count: 32))
    let incoming = try JSONDecoder().decode(
        IncomingEvent.self,
        from: Data(
            InsightWiringTests.line(
                UUID(), text: "fine", score: 9, customer: "LOY-1",
                attributes:
                    "{\"email\":\"kim@example.net\",\"iban\":\"GB82 WEST 1234 5698 7654 32\",\"sku\":\"SKU-77\"}"
            ).utf8))
    var events = [try EventValidator().validate(incoming, nowMillis: Int64(Date().timeIntervalSince1970 * 1000)).get()]
    if packed { _ = enricher.enrichPackedBlocking(&events) } else { _ = enricher.enrich(&events) }
    let values = events[0].attributes
    #expect(values["sku"] == "SKU-77")
    #expect(values["email"] != nil && values["email"]?.contains("kim@example.net") == false, "\(values)")
    #expect(values["iban"] != nil && values["iban"]?.contains("5698 7654") == false, "\(values)")
}

/// A mask can be longer than what it replaces: a masked value still fits the wire's 256 bytes, cut on a character
/// boundary, or the hub would refuse the agent's batch for good.
@Test(
    "a masked attribute value is cut to the wire's limit",
    arguments: [
        (String(repeating: "x", count: 249) + " a@b.co", 256),
        // the cut falls inside a two-byte character, which goes whole
        (" a@b.co " + String(repeating: "é", count: 124), 255),
    ])
func maskedAttributeFitsTheWire(_ value: String, _ bytes: Int) throws {
    #expect(value.utf8.count == 256)
    let enricher = try EventEnricher(fleetKey: Array(repeating: 3, count: 32))
    var attributes = ["note": value]
    enricher.maskAttributes(&attributes)
    let masked = try #require(attributes["note"])
    #expect(!masked.contains("a@b.co") && masked.contains("[EMAIL"), "\(masked)")
    #expect(masked.utf8.count == bytes, "\(masked.utf8.count) bytes")
}

/// Alerts of one key raised in one millisecond (a rule without cooldown) differ by their triggering event, also
/// when the agent stamped the events with UUIDv7 ids of the same millisecond.
@Test func alertsOfOneKeyInOneMillisecondKeepDistinctIDs() throws {
    var rules = AlertRuleEngine(rules: [AlertRule(id: "neg", condition: .sentimentAtOrBelow, cooldownSeconds: 0)])
    var rng = SystemRandomNumberGenerator()
    var ids: [String] = []
    for _ in 0..<3 {
        let event = UUID.v7(unixMillis: 1_700_000_000_000, using: &rng).uuidString.lowercased()
        let raised = rules.process(AlertEvent(eventID: event, storeID: "s1", timeMs: 1_700_000_000_000, compound: -0.9))
        #expect(raised.count == 1)
        ids += try raised.map { try PreparedAlert($0, webhook: false).id }
    }
    #expect(Set(ids).count == 3, "\(ids)")
    #expect(ids.allSatisfy { $0.hasPrefix("1700000000000.neg.s1.") })
}

@Suite("cx-agent analyze")
struct AnalyzeCommandTests {
    struct Line: Decodable {
        struct Sentiment: Decodable { var compound: Double }
        struct Intent: Decodable {
            var kind: String
            var phrase: String
        }
        var line: Int
        var masked_text: String?
        var sentiment: Sentiment
        var intents: [Intent]
        var flags: [String]
        var model_version: String
    }

    @Test func printsOneObjectPerInputLineFromTextsAndJSONLines() throws {
        let dir = TempDir()
        let file = dir.path + "/texts.txt"
        let input = [
            "I was charged twice and nobody answers, call me on +1 415 555 0134",
            "{\"text\": \"The staff were lovely, thank you!\", \"channel\": \"kiosk\"}",
            "",
            "Can I return an item without the receipt?",
        ].joined(separator: "\n")
        try input.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try Subprocess.run(product: "cx-agent", ["analyze", file])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(Line.self, from: Data($0.utf8))
        }
        try #require(lines.count == 3, "blank lines are skipped: \(run.stdout)")
        #expect(lines.map(\.line) == [1, 2, 3])
        #expect(lines[0].intents.contains { $0.kind == "complaint" && !$0.phrase.isEmpty })
        #expect(lines[0].masked_text?.contains("555") == false, "phone masked: \(lines[0].masked_text ?? "")")
        #expect(lines[0].flags.contains("pii_masked"))
        #expect(lines[1].sentiment.compound > 0.5, "the text field of a JSON line is analysed")
        #expect(lines[2].intents.contains { $0.kind == "question" })
        #expect(lines.allSatisfy { $0.model_version.hasPrefix("cxinsight-") })
    }

    /// `pii_patterns` of the agent's configuration are masked as the built-in kinds are; a bad one is named.
    @Test func configuredPatternsAreMaskedAndABadOneIsNamed() throws {
        let dir = TempDir()
        let file = dir.path + "/texts.txt"
        try "member LOY-12345678 here\nno id LOY-123 here\n".write(toFile: file, atomically: true, encoding: .utf8)
        let config = dir.path + "/agent.yaml"
        let pattern = "{name: loyalty_id, prefix: \"LOY-\", min_digits: %d, max_digits: %d, token: \"[LOYALTY]\"}"
        try ("pii_patterns:\n  - " + String(format: pattern, 8, 10) + "\n").write(
            toFile: config, atomically: true, encoding: .utf8)
        let run = try Subprocess.run(product: "cx-agent", ["analyze", "--config", config, file])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try run.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(Line.self, from: Data($0.utf8))
        }
        #expect(lines.map(\.masked_text) == ["member [LOYALTY] here", "no id LOY-123 here"])
        let without = try Subprocess.run(product: "cx-agent", ["analyze", file])
        #expect(without.stdout.contains("LOY-12345678"))
        try ("pii_patterns:\n  - " + String(format: pattern, 10, 8) + "\n").write(
            toFile: config, atomically: true, encoding: .utf8)
        let bad = try Subprocess.run(product: "cx-agent", ["analyze", "--config", config, file])
        #expect(bad.status != 0)
        #expect(
            bad.stderr.contains(
                "setting 'pii_patterns' (file \(config)): entry 1: min_digits and max_digits must satisfy 1 <= min_digits <= max_digits <= 34"
            ), "\(bad.stderr)")
    }

    @Test func missingFileIsAClearError() throws {
        let run = try Subprocess.run(product: "cx-agent", ["analyze", "/nonexistent/texts.txt"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("/nonexistent/texts.txt"))
    }
}
