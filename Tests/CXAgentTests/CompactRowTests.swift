import CXAgent
import CXCore
import CXInsight
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Testing

/// The buffer stores rows in a compact form (no event id and occurred_at in the payload, themes as one-byte
/// codes); what the outbox hands to the sync must be the event exactly as it was enriched.
@Suite struct CompactRowTests {
    static let texts = [
        "The checkout queue was slow and the self-checkout kiosk froze twice",
        "Delivery arrived late and the packaging was damaged, still waiting for my refund",
        "Lovely staff at the fitting rooms, great prices on the new jackets",
        "ok",
    ]

    @Test func rowsReadBackAsTheEnrichedEvents() async throws {
        let dir = TempDir()
        let ingest = try BufferStoreTests.service(dir)
        #expect(ingest.store.themeCodebook.count == (try ThemeTaxonomy.bundledDefault().allThemes.count))
        let ids = Self.texts.map { _ in UUID() }
        let body = zip(ids, Self.texts).map { TestEvents.json(id: $0, text: $1) }.joined(separator: "\n")
        #expect(try await ingest.ingest(body: Array(body.utf8), contentType: nil).accepted == Self.texts.count)

        // The same events through an enricher of their own: what the sync must send.
        let validator = EventValidator()
        var expected = try zip(ids, Self.texts).map { id, text in
            let incoming = try JSONDecoder().decode(
                IncomingEvent.self, from: Data(TestEvents.json(id: id, text: text).utf8))
            return try validator.validate(incoming, nowMillis: Int64(Date().timeIntervalSince1970 * 1000)).get()
        }
        _ = try EventEnricher(fleetKey: Array(repeating: 1, count: 32)).enrich(&expected)

        let page = try await ingest.store.outboxPage(after: 0, limit: 10)
        #expect(page.count == Self.texts.count)
        let versions = try await ingest.store.modelVersions()
        for (entry, want) in zip(page, expected) {
            let wire = try entry.wireEvent(modelVersions: versions)
            let got = try Event(wire: wire, batchStoreID: "store-001", limits: .default, index: 0)
            #expect(got.eventID == want.eventID)
            #expect(got.occurredAt == want.occurredAt)
            #expect(got.text == want.text)
            #expect(got.enrichment?.themes == want.enrichment?.themes)
            #expect(got.enrichment?.intents == want.enrichment?.intents)
            #expect(got.enrichment?.modelVersion == InsightEngine.modelVersion)
        }
        #expect(expected.contains { ($0.enrichment?.themes.count ?? 0) >= 2 }, "the texts should carry themes")
        // And the rows are compact: themes as codes, no theme names in the payload.
        let rows = try DatabaseQueue(path: ingest.store.path).read { db in
            try Row.fetchAll(db, sql: "SELECT payload, theme_codes FROM events ORDER BY seq")
        }
        for (row, want) in zip(rows, expected) {
            let payload = row[0] as Data
            #expect((row[1] as Data?)?.count ?? 0 == want.enrichment?.themes.count ?? 0)
            for theme in want.enrichment?.themes ?? [] {
                #expect(payload.range(of: Data(theme.dimension.utf8)) == nil)
            }
        }
    }

    /// An event with a theme without a code (here: one the book does not hold) keeps all its themes inline,
    /// in their order.
    @Test func themesWithoutACodeStayInline() async throws {
        let dir = TempDir()
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let known = Enrichment.Theme(dimension: "product_area", value: "checkout")
        let unknown = Enrichment.Theme(dimension: "custom", value: "not_in_the_book")
        try store.registerThemes([known])
        var event = try EventValidator().validate(
            JSONDecoder().decode(IncomingEvent.self, from: Data(TestEvents.json().utf8)), nowMillis: 1_704_067_300_000
        ).get()
        event.enrichment = Enrichment(
            modelVersion: "m", sentiment: .init(compound: 0, positive: 0, neutral: 1, negative: 0),
            themes: [unknown, known])
        let prepared = IngestService.prepare(event, themes: store.themeCodebook)
        #expect(prepared.themeCodes.isEmpty)
        #expect(IngestService.prepare(Self.withThemes(event, [known]), themes: store.themeCodebook).themeCodes == [1])
        _ = try await store.commit([[prepared]])
        let entry = try #require(try await store.outboxPage(after: 0, limit: 1).first)
        let wire = try entry.wireEvent(modelVersions: [])
        #expect(
            wire.enrichment.themes.map { "\($0.dimension)/\($0.value)" } == [
                "custom/not_in_the_book", "product_area/checkout",
            ])
        #expect(wire.eventID == withUnsafeBytes(of: event.eventID.uuid) { Data($0) })
    }

    static func withThemes(_ event: Event, _ themes: [Enrichment.Theme]) -> Event {
        var e = event
        e.enrichment?.themes = themes
        return e
    }

    /// Codes run out after 255 themes: the book stops there (the rest stays inline), and opens again.
    @Test func theBookHoldsAtMost255Themes() async throws {
        let dir = TempDir()
        let many = (0..<300).map { Enrichment.Theme(dimension: "d\($0 % 7)", value: "v\($0)") }
        do {
            let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
            try store.registerThemes(many)
            #expect(store.themeCodebook.count == 255)
            try store.registerThemes(many)
            try store.close()
        }
        let reopened = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        try reopened.registerThemes(many)
        #expect(reopened.themeCodebook.count == 255)
    }
}
