import CXCore
import Foundation
import Testing
@testable import CXInsight

/// Accuracy on the labelled customer corpus (Corpus/sentiment_intents.tsv): polarity, and
/// precision/recall for every intent kind. Figures are printed so that runs can be compared.
@Suite struct CorpusTests {
    struct Row {
        var channel: String
        var polarity: String
        var intents: Set<Enrichment.Intent.Kind>
        var text: String
    }

    static func rows() throws -> [Row] {
        try corpusLines("sentiment_intents").map { f in
            Row(
                channel: f[0], polarity: f[1],
                intents: Set(f[2].split(separator: ",").compactMap { Enrichment.Intent.Kind(rawValue: String($0)) }),
                text: f[3])
        }
    }

    @Test func corpusIsLargeAndVaried() throws {
        let rows = try Self.rows()
        #expect(rows.count >= 400)
        #expect(Set(rows.map(\.channel)) == ["kiosk", "pos", "web", "chat", "email", "social", "review"])
        #expect(rows.filter { $0.intents.contains(.complaint) }.count >= 150)
    }

    @Test func polarityAndIntentAccuracy() throws {
        let rows = try Self.rows()
        var correct = 0
        var confusion: [String: Int] = [:]
        var tp: [Enrichment.Intent.Kind: Int] = [:]
        var fp: [Enrichment.Intent.Kind: Int] = [:]
        var fn: [Enrichment.Intent.Kind: Int] = [:]
        var lexiconOnlyComplaintHits = 0
        var misses: [String] = []
        for r in rows {
            let e = engine.enrich(InsightInput(text: r.text)).enrichment
            let p = polarity(e.sentiment.compound)
            if p == r.polarity {
                correct += 1
            } else {
                misses.append("POL \(r.polarity)->\(p) \(e.sentiment.compound) | \(r.text)")
            }
            confusion["\(r.polarity)->\(p)", default: 0] += 1
            let got = Set(e.intents.map(\.kind))
            for k in Enrichment.Intent.Kind.allCases {
                switch (r.intents.contains(k), got.contains(k)) {
                case (true, true): tp[k, default: 0] += 1
                case (false, true):
                    fp[k, default: 0] += 1;
                    misses.append("FP \(k) \(e.intents.filter { $0.kind == k }.map(\.phrase)) | \(r.text)")
                case (true, false): fn[k, default: 0] += 1; misses.append("FN \(k) | \(r.text)")
                default: break
                }
            }
            if r.intents.contains(.complaint) && engine.sentiment(r.text).compound <= -0.5 {
                lexiconOnlyComplaintHits += 1
            }
        }
        let acc = Double(correct) / Double(rows.count)
        func pr(_ k: Enrichment.Intent.Kind) -> (Double, Double) {
            let t = Double(tp[k] ?? 0)
            return (t / max(1, t + Double(fp[k] ?? 0)), t / max(1, t + Double(fn[k] ?? 0)))
        }
        let complaints = rows.filter { $0.intents.contains(.complaint) }.count
        print(
            "corpus: \(rows.count) texts; polarity accuracy \(String(format: "%.3f", acc)); confusion \(confusion.sorted { $0.key < $1.key })"
        )
        for k in Enrichment.Intent.Kind.allCases {
            let (p, r) = pr(k)
            print(
                "intent \(k.rawValue): precision \(String(format: "%.3f", p)) recall \(String(format: "%.3f", r)) (tp \(tp[k] ?? 0), fp \(fp[k] ?? 0), fn \(fn[k] ?? 0))"
            )
        }
        print(
            "lexicon-only complaint recall at -0.5: \(String(format: "%.3f", Double(lexiconOnlyComplaintHits) / Double(complaints)))"
        )
        if ProcessInfo.processInfo.environment["CX_CORPUS_VERBOSE"] != nil { misses.forEach { print($0) } }
        #expect(acc >= 0.80)
        let (cp, cr) = pr(.complaint)
        #expect(cr >= 0.85)
        #expect(cp >= 0.85)
        #expect(pr(.refund).1 >= 0.7)
        #expect(pr(.cancellation).1 >= 0.7)
        #expect(pr(.question).1 >= 0.8)
    }
}
