import CXCore
import Foundation
import Testing

@testable import CXAgent

/// Mutated request bodies (flipped, inserted, deleted and truncated bytes, JSON metacharacters, broken UTF-8)
/// go through the ingest parser, the event builders and the enricher without trapping: a body is input from
/// the store network, and a trap would take the agent down with every request in flight.
@Suite struct IngestFuzzTests {
    static let lines = [
        #"{"event_id":"b405910e-af86-4e70-8ef0-fdaccd3d959a","store_id":"store-038","device_id":"store-038-social-01","channel":"social","customer_id":null,"ts":1704067217834,"type":"social_mention","score":null,"text":"The fitting rooms felt welcoming!! 🎉 #VX358 call +44 20 7946 0958","journey_stage":"loyalty"}"#,
        #"{"event_id":"4dc3a05e-c087-4e1e-b504-7cfc223be152","store_id":"store-043","device_id":"store-043-mobile-02","channel":"mobile","customer_id":"cust-016037","ts":1704067234919,"type":"review","score":2,"text":"Charged twice, IBAN GB82 WEST 1234 5698 7654 32, still waiting \u00e9\ud83d\ude00","journey_stage":"purchase"}"#,
        #"{"event_id":"0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9","store_id":"store-001","channel":"pos","ts":1704067300000,"type":"pos_transaction","amount":{"value":"12.50","currency":"EUR"},"attributes":{"k":"v"}}"#,
    ]
    static let bytes: [UInt8] = Array(#"{}[]",:\"0-9eE.tfnu "#.utf8) + [0, 0x0A, 0xFF, 0xC3, 0xE2, 0x80, 0xF0, 0x9F]

    /// A draw in 0..<bound (0 for an empty range), from the seeded generator so that runs repeat.
    static func draw(_ rng: inout SeededGenerator, _ bound: Int) -> Int {
        Int(rng.next() % UInt64(max(1, bound)))
    }

    @Test func mutatedBodiesNeverTrap() throws {
        let enricher = try EventEnricher(fleetKey: Array(repeating: 7, count: 32))
        let validator = EventValidator()
        let fast = FastEventBuilder(limits: .default)
        let now = Int64(1_704_100_000_000)
        var rng = SeededGenerator(seed: 0xF022)
        var built = 0
        for round in 0..<20_000 {
            var body: [UInt8]
            switch round % 3 {
            case 0: body = Array(Self.lines[Self.draw(&rng, Self.lines.count)].utf8)
            case 1: body = Array(("[" + Self.lines.joined(separator: ",") + "]").utf8)
            default: body = Array(Self.lines.joined(separator: "\n").utf8)
            }
            for _ in 0...Self.draw(&rng, 4) {
                guard !body.isEmpty else { break }
                let at = Self.draw(&rng, body.count)
                switch Self.draw(&rng, 4) {
                case 0: body[at] = Self.bytes[Self.draw(&rng, Self.bytes.count)]
                case 1: body.insert(Self.bytes[Self.draw(&rng, Self.bytes.count)], at: at)
                case 2: body.remove(at: at)
                default: body.removeLast(Self.draw(&rng, body.count))
                }
            }
            guard
                let slots = try? body.withUnsafeBufferPointer({
                    try IngestParser.slots(body: $0, contentType: nil, maxEvents: 1000)
                })
            else { continue }
            var events: [Event] = []
            for case .success(let scanned) in slots {
                if let e = fast.build(scanned, nowMillis: now) {
                    events.append(e)
                } else if case .success(let e) = validator.validate(scanned.incoming, nowMillis: now) {
                    events.append(e)
                }
            }
            built += events.count
            _ = enricher.enrich(&events)
            // an intact phone number never reaches storage, whatever happened around it
            for e in events { #expect(!(e.text ?? "").contains("+44 20 7946 0958")) }
        }
        #expect(built > 5_000, "the mutations left too few valid events to exercise the enricher: \(built)")
    }
}
