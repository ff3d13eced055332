import CXCore
import Testing

@testable import CXInsight

/// `enrich(_:scratch:)` reuses one token buffer across texts; it must give what `enrich(_:)` gives, whatever
/// the texts before it left in the buffer and however often it had to grow.
@Suite struct ScratchTests {
    static let texts: [String] = [
        "Great staff, quick checkout!",
        String(repeating: "The queue at the kiosk was NOT moving and nobody helped. ", count: 40),
        "ok",
        "Charged twice for order #209754, call me on +44 20 7946 0958 or mail jo@example.com 😡",
        "",
        String(repeating: "refund? ", count: 300),
        "Still waiting for my refund, switching to another store.",
        "Mi pedido llegó tarde y la app no funciona",
    ]

    @Test func aReusedScratchGivesTheSameEnrichment() {
        let scratch = InsightScratch()
        for round in 0..<2 {
            for (i, text) in Self.texts.enumerated() {
                let input = InsightInput(text: text, eventID: "e\(i)", storeID: "s1", customerID: "cust-\(i)")
                let fresh = engine.enrich(input)
                let reused = engine.enrich(input, scratch: scratch)
                #expect(reused.enrichment == fresh.enrichment, "round \(round), text \(i)")
                #expect(reused.maskedText == fresh.maskedText, "round \(round), text \(i)")
                #expect(reused.customerKey == fresh.customerKey)
                #expect(reused.fingerprint == fresh.fingerprint)
                #expect(reused.maskedCounts == fresh.maskedCounts)
            }
        }
    }

    /// The agent analyses a request's texts stage by stage in one batch; each must come out as it does alone,
    /// whatever its neighbours (empty, missing, long, masked) and however the shared buffers had to grow.
    @Test(arguments: [1, 3, 8, 40])
    func aBatchGivesWhatEachTextGivesAlone(batchSize: Int) {
        var texts: [String?] = []
        for i in 0..<batchSize { texts.append(i % 9 == 8 ? nil : Self.texts[i % Self.texts.count]) }
        let inputs = texts.enumerated().map { i, text in
            InsightInput(text: text, eventID: "e\(i)", storeID: "s1", responseTimeMs: i % 5 == 0 ? 300 : nil)
        }
        let scratch = InsightScratch()
        for round in 0..<2 {
            let batch = engine.analyzePacked(inputs, scratch: scratch)
            #expect(batch.count == inputs.count)
            for (i, input) in inputs.enumerated() {
                let alone = engine.analyzePacked(input, scratch: InsightScratch())
                #expect(batch[i].enrichment == alone.enrichment, "round \(round), text \(i)")
                #expect(batch[i].maskedText == alone.maskedText, "round \(round), text \(i)")
                #expect(batch[i].maskedCounts == alone.maskedCounts)
                #expect(batch[i].fingerprint == alone.fingerprint)
            }
        }
    }

    /// The agent reuses one scratch and one result array for request after request: a smaller batch after a larger
    /// one must not see what the larger one left in the per-text arrays or in the results.
    @Test func batchesIntoAReusedArrayGiveWhatFreshOnesGive() {
        let scratch = InsightScratch()
        var out: [PackedAnalysis] = []
        for size in [40, 3, 0, 8, 1, 40] {
            let inputs = (0..<size).map { i in
                InsightInput(
                    text: i % 7 == 6 ? nil : Self.texts[(i + size) % Self.texts.count], eventID: "e\(i)", storeID: "s1")
            }
            engine.analyzePacked(inputs, scratch: scratch, into: &out)
            let fresh = engine.analyzePacked(inputs, scratch: InsightScratch())
            #expect(out.count == size)
            for i in 0..<min(out.count, fresh.count) {
                #expect(out[i].enrichment == fresh[i].enrichment, "batch of \(size), text \(i)")
                #expect(out[i].maskedText == fresh[i].maskedText, "batch of \(size), text \(i)")
                #expect(out[i].fingerprint == fresh[i].fingerprint)
            }
        }
    }
}
