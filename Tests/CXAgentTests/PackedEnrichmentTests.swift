import CXAgent
import CXCore
import CXInsight
import CXProtocol
import CXTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// The ingest path stores enrichments from their packed form, in the buffer's compact forms; expanded, the rows
/// must be what the full `Enrichment` gives, for every kind of text (intents, themes, masked PII, flags, no text
/// at all).
@Suite struct PackedEnrichmentTests {
    /// The texts of both labelled corpora (sentences with intents and themes, PII positives and look-alikes),
    /// repeated so that near-duplicates are flagged, plus events without text.
    static func events() throws -> [Event] {
        var texts: [String?] = []
        for name in ["sentiment_intents", "pii"] {
            let url = Repository.root.appendingPathComponent("Tests/CXInsightTests/Corpus/\(name).tsv")
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
            for line in lines where !line.hasPrefix("#") {
                if let text = line.split(separator: "\t").last { texts.append(String(text)) }
            }
        }
        texts += texts.prefix(40).map { $0 } + [nil, nil]
        let channels = ["kiosk", "chat", "social", "email", "web", "pos"]
        let validator = EventValidator()
        return try texts.enumerated().map { i, text in
            var object: [String: Any] = [
                "event_id": UUID().uuidString.lowercased(), "store_id": "store-00\(i % 3)",
                "device_id": "dev-\(i % 5)", "channel": channels[i % channels.count], "ts": 1_704_067_200_000 + i,
                "type": i % 4 == 0 ? "survey_nps" : "review", "score": i % 4 == 0 ? i % 11 : 1 + i % 5,
            ]
            if let text { object["text"] = text }
            // Loyalty ids, and now and then one that normalises to nothing ("--"), which must not be stored at all.
            if i % 3 == 0 { object["customer_id"] = i % 7 == 0 ? "--" : "loyalty-\(i % 17)" }
            let data = try JSONSerialization.data(withJSONObject: object)
            let incoming = try JSONDecoder().decode(IncomingEvent.self, from: data)
            return try validator.validate(incoming, nowMillis: 1_704_067_300_000).get()
        }
    }

    @Test func packedRowsAreTheFullEnrichmentsRows() async throws {
        let events = try Self.events()
        let key = Array(repeating: UInt8(3), count: 32)
        let dir = TempDir()
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let full = try EventEnricher(fleetKey: key)
        let packedEnricher = try EventEnricher(fleetKey: key)
        try store.registerThemes(full.engine.themes.taxonomy.allThemes)
        let book = store.themeCodebook
        let codes = try #require(IngestService.themeCodes(book, packedEnricher.engine))

        var a = events
        var b = events
        var alertsA: [InsightAlert] = []
        var alertsB: [InsightAlert] = []
        var inlineThemes = 0
        var intents = 0
        var masked = 0
        var flagged = 0
        var smaller = 0
        var compactKeys = 0
        var compactIntents = 0
        var compactConfidences = 0
        var compactSentiments = 0
        var unnormalised = 0
        // Requests of 25 events, as producers send them.
        for start in stride(from: 0, to: events.count, by: 25) {
            let r = start..<min(events.count, start + 25)
            var requestA = Array(a[r])
            var requestB = Array(b[r])
            alertsA += full.enrich(&requestA)
            let packed = await packedEnricher.enrichPacked(&requestB)
            alertsB += packed.alerts
            for (k, i) in r.enumerated() {
                let want = IngestService.prepare(requestA[k], themes: book)
                let got = IngestService.prepare(
                    requestB[k], packed: packed.enrichments[k], customerKey: packed.customerKeys[k], themeCodes: codes)
                // The packed row is in the buffer's compact forms; expanded, it is the full row.
                var expanded = try Cxsync_V1_Event(serializedBytes: got.payload)
                try expanded.expandStoredForms()
                #expect(
                    expanded == (try Cxsync_V1_Event(serializedBytes: want.payload)),
                    "event \(i): \(requestA[k].text ?? "(no text)")")
                #expect(got.payload.count <= want.payload.count, "event \(i)")
                if got.payload.count < want.payload.count { smaller += 1 }
                let stored = try Cxsync_V1_Event(serializedBytes: got.payload)
                if !stored.storedCustomerKey.isEmpty { compactKeys += 1 }
                if !stored.enrichment.storedIntentSpans.isEmpty { compactIntents += 1 }
                if stored.enrichment.storedLanguagePercent != 0 { compactConfidences += 1 }
                if !stored.enrichment.storedSentiment.isEmpty { compactSentiments += 1 }
                #expect(got.themeCodes == want.themeCodes, "event \(i)")
                #expect(requestB[k].text == requestA[k].text)
                // The packed path leaves no identifier in the event: its key comes back beside it, as bytes.
                #expect(requestB[k].customerID == nil)
                #expect(packed.customerKeys[k].map { CustomerKey.hex($0) } == requestA[k].customerID)
                #expect(stored.customerID.isEmpty, "event \(i)")
                if events[i].customerID == "--" { unnormalised += 1 }
                let materialized = packed.enrichments[k].enrichment(
                    text: requestB[k].text, modelVersion: InsightEngine.modelVersion,
                    taxonomy: packedEnricher.engine.themeValues)
                #expect(materialized == requestA[k].enrichment)
                if want.themeCodes.isEmpty && !(requestA[k].enrichment?.themes.isEmpty ?? true) { inlineThemes += 1 }
                intents += requestA[k].enrichment?.intents.count ?? 0
                if requestA[k].enrichment?.flags.contains("pii_masked") == true { masked += 1 }
                if requestA[k].enrichment?.flags.contains("near_duplicate") == true { flagged += 1 }
            }
            a.replaceSubrange(r, with: requestA)
            b.replaceSubrange(r, with: requestB)
        }
        #expect(inlineThemes == 0)
        // Intents, customer keys and language confidences all take their compact forms.
        #expect(smaller > events.count / 2)
        #expect(compactKeys == events.indices.filter { $0 % 3 == 0 && $0 % 7 != 0 }.count)
        #expect(unnormalised == events.indices.filter { $0 % 21 == 0 }.count)
        #expect(compactIntents > 200 && compactConfidences > 200 && compactSentiments > 200)
        // The corpora exercise what the packed form has to carry.
        #expect(intents > 300)
        #expect(masked > 100)
        #expect(flagged >= 30)
        #expect(alertsB.map(\.ruleID) == alertsA.map(\.ruleID))
        #expect(alertsB.map(\.eventIDs) == alertsA.map(\.eventIDs))
        // The packed path keys a customer by its key's bytes, the full path by its hex: the same keys and texts.
        #expect(alertsB.map(\.dedupKey) == alertsA.map(\.dedupKey))
        #expect(alertsB.map(\.message) == alertsA.map(\.message))
        #expect(alertsA.contains { $0.dedupKey.split(separator: "|").last?.utf8.count == 32 })
        #expect(!alertsA.isEmpty)
    }
}
