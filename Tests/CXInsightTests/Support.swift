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
