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

/// Calls `body` with the tokens of `text`, their count and the text's stats; `resolved` looks the words up in the test
/// engine's vocabulary first, as the engine does before its analysers read them.
func withTokens<R>(
    _ text: String, resolved: Bool = false, _ body: (UnsafeMutableBufferPointer<Token>, Int, TextStats) -> R
) -> R {
    var t = text
    return t.withUTF8 { buf in
        withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
            var stats = TextStats()
            let n = Tokenizer.tokenize(buf, into: toks, stats: &stats)
            if resolved { engine.core.vocabulary.resolve(toks, n) }
            return body(toks, n, stats)
        }
    }
}

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
