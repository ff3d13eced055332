import CXCore
import Foundation
@testable import CXInsight

/// One engine for the whole test run (parsing the lexicon once, as production does).
let engine: InsightEngine = {
    var c = InsightConfiguration()
    c.fleetKey = Array(repeating: 7, count: 32)
    c.piiPatterns = [PIIPattern(name: "loyalty_id", prefix: "LOY-", minDigits: 8, maxDigits: 10, token: "[LOYALTY]")]
    return try! InsightEngine(configuration: c)
}()

func corpusLines(_ name: String) throws -> [[String]] {
    guard
        let url = Bundle.module.url(forResource: name, withExtension: "tsv", subdirectory: "Corpus")
            ?? Bundle.module.url(forResource: name, withExtension: "tsv")
    else { throw CocoaError(.fileNoSuchFile) }
    let text = try String(contentsOf: url, encoding: .utf8)
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map {
        $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    }
}

func polarity(_ compound: Double) -> String {
    compound >= 0.05 ? "pos" : (compound <= -0.05 ? "neg" : "neu")
}

func kinds(_ text: String) -> Set<Enrichment.Intent.Kind> {
    Set(engine.enrich(InsightInput(text: text)).enrichment.intents.map(\.kind))
}

/// A small seeded generator (SplitMix64), so that generated test inputs are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
