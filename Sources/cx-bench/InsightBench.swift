import ArgumentParser
import CXCore
import CXInsight
import Foundation

/// `cx-bench insight`: sentiment and full-enrichment throughput of CXInsight on one core, on the
/// texts of the standard workload (`gen_events.py`), printed as one JSON object.
///
/// Pin it to one CPU from the outside (`taskset -c 0`, as `bench/insight.sh` does) to compare with
/// the peer VADER figure, which pins itself.
struct InsightBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "insight",
        abstract: "CXInsight throughput: sentiment alone and full enrichment, texts/s on one core (JSON)."
    )

    @Option(help: "Event file written by gen_events.py.")
    var events = "/tmp/cx_events_1m.jsonl"

    @Option(help: "Number of non-null texts to use (the first ones of the file).")
    var n = 100_000

    @Option(help: "Timed repetitions; the best is reported.")
    var reps = 3

    @Option(help: "Optional file to write event_id<TAB>compound to, for a side-by-side with VADER's dump.")
    var dump: String?

    struct Event: Decodable {
        var event_id: String
        var store_id: String
        var channel: String
        var customer_id: String?
        var ts: Int64
        var type: String
        var score: Int?
        var text: String?
    }

    func loadEvents() throws -> [Event] {
        guard let fh = FileHandle(forReadingAtPath: events) else {
            throw ValidationError("cannot open \(events); generate it with gen_events.py")
        }
        defer { try? fh.close() }
        let decoder = JSONDecoder()
        var out: [Event] = []
        out.reserveCapacity(n)
        var pending = Data()
        while out.count < n {
            let chunk = fh.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while out.count < n, let nl = pending[start...].firstIndex(of: 0x0A) {
                let ev = try decoder.decode(Event.self, from: pending[start..<nl])
                if ev.text != nil { out.append(ev) }
                start = nl + 1
            }
            pending = Data(pending[start...])
        }
        return out
    }

    func run() async throws {
        let loadStart = ContinuousClock.now
        var config = InsightConfiguration()
        config.fleetKey = Array("cx-bench-fleet-key-0123456789abcdef".utf8)
        let engine = try InsightEngine(configuration: config)
        let engineLoad = ContinuousClock.now - loadStart
        let evs = try loadEvents()
        let texts = evs.map { $0.text! }
        let count = texts.count
        guard count > 0 else { throw ValidationError("no texts in \(events)") }
        let chars = texts.reduce(0) { $0 + $1.count }
        let inputs = evs.map { e in
            InsightInput(
                text: e.text, eventID: e.event_id, storeID: e.store_id, channel: e.channel, customerID: e.customer_id,
                customerIDKind: .loyalty, timeMs: e.ts, score: e.score.map(Double.init),
                scoreKind: ["survey_nps": .nps, "survey_csat": .csat, "survey_ces": .ces, "review": .review][e.type])
        }

        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }

        // warm-up
        var sink = 0.0
        for t in texts.prefix(1000) { sink += engine.sentiment(t).compound }

        var sentimentRates: [Double] = []
        var compounds: [Double] = []
        for _ in 0..<max(1, reps) {
            var local: [Double] = []
            local.reserveCapacity(count)
            let t0 = ContinuousClock.now
            for t in texts { local.append(engine.sentiment(t).compound) }
            let el = seconds(ContinuousClock.now - t0)
            sentimentRates.append(Double(count) / el)
            if compounds.isEmpty {
                compounds = local
            } else if compounds != local {
                throw ValidationError("non-deterministic sentiment")
            }
        }

        var enrichRates: [Double] = []
        var intentCounts: [String: Int] = [:]
        var flagCounts: [String: Int] = [:]
        var alerts = 0
        var masked = 0
        var enrichCompoundAgree = 0
        for rep in 0..<max(1, reps) {
            var state = engine.makeState()
            _ = rep
            // timed: results are consumed as a store would (a few fields read), then dropped
            var consumed = 0
            let t0 = ContinuousClock.now
            for input in inputs {
                let r = engine.enrich(input, state: &state)
                consumed &+= r.enrichment.intents.count &+ r.enrichment.themes.count &+ r.alerts.count
            }
            let el = seconds(ContinuousClock.now - t0)
            enrichRates.append(Double(count) / el)
            sink += Double(consumed & 1)
            if rep == max(1, reps) - 1 {
                // untimed pass for the statistics, after the timed ones
                var st2 = engine.makeState()
                let results = inputs.map { engine.enrich($0, state: &st2) }
                for r in results {
                    for i in r.enrichment.intents { intentCounts[i.kind.rawValue, default: 0] += 1 }
                    for f in r.enrichment.flags { flagCounts[f, default: 0] += 1 }
                    alerts += r.alerts.count
                    masked += r.maskedCounts.values.reduce(0, +)
                }
                // sign agreement of the enriched compound with the survey/review score
                for (e, r) in zip(evs, results) {
                    guard let sc = e.score,
                        let (hi, lo) = [
                            "survey_nps": (9, 6), "survey_csat": (4, 2), "review": (4, 2), "survey_ces": (5, 3),
                        ][e.type], sc >= hi || sc <= lo
                    else { continue }
                    let c = r.enrichment.sentiment.compound
                    if (sc >= hi && c >= 0.05) || (sc <= lo && c <= -0.05) { enrichCompoundAgree += 1 }
                }
            }
        }
        var agree = 0
        var total = 0
        for (e, c) in zip(evs, compounds) {
            guard let sc = e.score,
                let (hi, lo) = ["survey_nps": (9, 6), "survey_csat": (4, 2), "review": (4, 2), "survey_ces": (5, 3)][
                    e.type]
            else { continue }
            if sc >= hi || sc <= lo {
                total += 1
                if (sc >= hi && c >= 0.05) || (sc <= lo && c <= -0.05) { agree += 1 }
            }
        }
        if let dump {
            var s = ""
            s.reserveCapacity(count * 48)
            for (e, c) in zip(evs, compounds) { s += "\(e.event_id)\t\(String(format: "%.4f", c))\n" }
            try s.write(toFile: dump, atomically: true, encoding: .utf8)
        }
        let pos = compounds.filter { $0 >= 0.05 }.count
        let neg = compounds.filter { $0 <= -0.05 }.count
        let bestS = sentimentRates.max()!
        let bestE = enrichRates.max()!
        let result: [String: Any] = [
            "bench": "cxinsight", "texts": count, "mean_chars": Double(chars * 10 / count) / 10, "reps": reps,
            "model_version": InsightEngine.modelVersion, "engine_load_s": (seconds(engineLoad) * 1000).rounded() / 1000,
            "sentiment_texts_per_s": Int(bestS), "sentiment_texts_per_s_all": sentimentRates.map { Int($0) },
            "sentiment_us_per_text": (1e7 / bestS).rounded() / 10,
            "enrich_texts_per_s": Int(bestE), "enrich_texts_per_s_all": enrichRates.map { Int($0) },
            "enrich_us_per_text": (1e7 / bestE).rounded() / 10,
            "label_mix": ["pos": pos, "neg": neg, "neu": count - pos - neg],
            "sign_agrees_with_score_pct": (1000.0 * Double(agree) / Double(max(total, 1))).rounded() / 10,
            "enriched_sign_agrees_with_score_pct": (1000.0 * Double(enrichCompoundAgree) / Double(max(total, 1)))
                .rounded() / 10,
            "scored_texts_checked": total,
            "intents": intentCounts, "flags": flagCounts, "alerts_raised": alerts, "pii_spans_masked": masked,
            "checksum": (sink * 1000).rounded() / 1000,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
