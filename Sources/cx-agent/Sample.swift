import ArgumentParser
import CXCore
import Foundation

extension CXAgentCommand {
    struct Sample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print realistic sample events as JSON lines (for demos and smoke tests).")

        @Option(help: "Number of events.")
        var count = 1000

        @Option(help: "Store id of the events.")
        var store = "store-001"

        @Option(help: "Seed; the same seed prints the same events.")
        var seed: UInt64 = 1

        @Option(help: "Unix ms of the first event (default: one hour ago).")
        var start: Int64?

        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must not be negative, not \(count)") }
        }

        func run() async throws {
            var rng = SeededGenerator(seed: seed)
            let t0 = start ?? Int64(Date().timeIntervalSince1970 * 1000) - 3_600_000
            let step = max(1, 3_600_000 / Int64(max(count, 1)))
            var out = ""
            out.reserveCapacity(count * 300)
            for i in 0..<count {
                out += Self.event(i: i, at: t0 + Int64(i) * step, store: store, rng: &rng)
                out += "\n"
                if out.utf8.count > 1 << 20 {
                    FileHandle.standardOutput.write(Data(out.utf8))
                    out = ""
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }

        static let kinds: [(type: String, channels: [String], stage: String, score: ClosedRange<Int>?)] = [
            ("pos_txn", ["pos"], "purchase", nil),
            ("chat_message", ["chat", "web", "mobile"], "support", nil),
            ("survey_nps", ["kiosk", "email"], "post_purchase", 0...10),
            ("survey_csat", ["kiosk", "web"], "purchase", 1...5),
            ("survey_ces", ["web", "mobile"], "support", 1...7),
            ("review", ["web", "mobile"], "post_purchase", 1...5),
            ("social_mention", ["social"], "awareness", nil),
        ]

        static let texts = [
            "The cashier was super helpful and the line moved fast.",
            "Waited 40 minutes at the pickup counter and nobody came.",
            "The app keeps logging me out at checkout.",
            "Charged twice for the same order, still waiting for my refund.",
            "Great selection, the new layout makes things easy to find.",
            "Self-checkout kiosk froze twice, had to call staff.",
            "Delivery arrived early and well packed, thanks!",
            "Not happy, the jacket I bought broke after two days.",
            "Fitting rooms were clean and the staff friendly.",
            "Lost my order number, can someone help?",
        ]

        static func event(i: Int, at ts: Int64, store: String, rng: inout SeededGenerator) -> String {
            let kind = kinds[Int.random(in: 0..<kinds.count, using: &rng)]
            let channel = kind.channels[Int.random(in: 0..<kind.channels.count, using: &rng)]
            let id = UUID.v7(unixMillis: ts, using: &rng).lowercasedString
            var fields = [
                "\"event_id\":\"\(id)\"", "\"store_id\":\"\(store)\"", "\"device_id\":\"\(store)-\(channel)-01\"",
                "\"channel\":\"\(channel)\"", "\"type\":\"\(kind.type)\"", "\"ts\":\(ts)",
                "\"journey_stage\":\"\(kind.stage)\"",
            ]
            if Int.random(in: 0..<4, using: &rng) > 0 {
                fields.append(
                    "\"customer_id\":\"cust-\(String(format: "%06d", Int.random(in: 1...2000, using: &rng)))\"")
            }
            if let range = kind.score { fields.append("\"score\":\(Int.random(in: range, using: &rng))") }
            if kind.type == "pos_txn" {
                fields.append(
                    "\"amount\":\(Double(Int.random(in: 199...25_000, using: &rng)) / 100),\"currency\":\"EUR\"")
            } else {
                fields.append("\"text\":\"\(texts[Int.random(in: 0..<texts.count, using: &rng)])\"")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
    }
}
