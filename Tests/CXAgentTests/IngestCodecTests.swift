import CXCore
import Foundation
import Testing

@testable import CXAgent

/// The ingest path's own JSON reading and writing (the scanner's word-at-a-time string scan, the table-driven UUID
/// parse, the response written without a string per event) against Foundation's reading of the same bytes.
@Suite struct IngestCodecTests {
    /// Strings whose special byte sits at every position around the scanner's 8-byte words.
    static let texts: [String] = {
        var texts: [String] = []
        for length in 0..<26 {
            let plain = String(repeating: "abcdefgh", count: 4).prefix(length)
            texts.append(String(plain))
            for at in 0...length {
                // 0xA2, 0xA0, 0xDC (in ¢, à, ܐ) share their low seven bits with a quote, a space, a backslash.
                for special in ["\\\"", "\\\\", "\\n", "\\u00e9", "é", "🎉", "\\ud83d\\ude00", "¢", "à", "ܐ"] {
                    var s = String(plain)
                    s.insert(contentsOf: special, at: s.index(s.startIndex, offsetBy: at))
                    texts.append(s)
                }
            }
        }
        return texts
    }()

    static func body(text: [UInt8]) -> [UInt8] {
        Array(#"{"event_id":"b405910e-af86-4e70-8ef0-fdaccd3d959a","store_id":"store-038","text":""#.utf8) + text
            + Array(#"","channel":"kiosk"}"#.utf8)
    }

    /// What the scanner reads as the text, or nil when it refuses the event or the body.
    static func scanned(_ body: [UInt8]) -> String?? {
        guard
            let slots = try? body.withUnsafeBufferPointer({
                try IngestParser.slots(body: $0, contentType: nil, maxEvents: 10)
            }), slots.count == 1, case .success(let event) = slots[0]
        else { return nil }
        return .some(event.incoming.text)
    }

    static func decoded(_ body: [UInt8]) -> String?? {
        guard let event = try? JSONDecoder().decode(IncomingEvent.self, from: Data(body)) else { return nil }
        return .some(event.text)
    }

    @Test func stringsReadAsFoundationReadsThem() {
        var checked = 0
        for text in Self.texts {
            let body = Self.body(text: Array(text.utf8))
            let want = Self.decoded(body)
            #expect(want != nil, "Foundation should read \(text)")
            #expect(Self.scanned(body) == want, "text \(text)")
            checked += 1
        }
        #expect(checked > 1000)
    }

    /// A raw control byte or broken UTF-8 anywhere in a string refuses the event, as Foundation refuses it.
    @Test(arguments: [UInt8(0x0A), 0x01, 0x1F, 0xFF, 0xC3, 0x80])
    func badBytesAreRefusedAtEveryPosition(_ bad: UInt8) {
        for length in 1..<26 {
            for at in 0..<length {
                var text = Array(String(repeating: "abcdefgh", count: 4).utf8.prefix(length))
                text[at] = bad
                let body = Self.body(text: text)
                #expect(Self.decoded(body) == nil)
                #expect(Self.scanned(body) == nil, "byte \(bad) at \(at) of \(length)")
            }
        }
    }

    @Test func uuidsParseAsFoundationParsesThem() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<500 {
            let id = UUID()
            let text = n % 2 == 0 ? id.uuidString : id.uuidString.lowercased()
            let parsed = Array(text.utf8).withUnsafeBufferPointer { UUIDBytes.parse($0) }
            let bytes = id.bytes
            let high = bytes[..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(parsed == UUIDBytes(high: high, low: low))
            #expect(id.lowercasedString == text.lowercased())
            // Any byte that is not a hex digit, at any digit's place, refuses the whole id.
            var broken = Array(text.utf8)
            let at = [0, 7, 9, 12, 14, 17, 19, 22, 24, 35][n % 10]
            broken[at] = Array("gG/:@`z \u{7F}".utf8)[Int.random(in: 0..<9, using: &rng)]
            #expect(broken.withUnsafeBufferPointer { UUIDBytes.parse($0) } == nil, "\(broken) at \(at)")
        }
    }

    @Test(arguments: [Int64(0), 1, 9, 10, 99, 100, 65_535, 1_704_067_217_834, .max, -1, -10, .min])
    func decimalsAreWrittenAsStringWritesThem(_ v: Int64) {
        var out: [UInt8] = [1]
        appendDecimal(&out, v)
        #expect(out == [1] + Array(String(v).utf8))
        var big: [UInt8] = []
        appendDecimal(&big, UInt64.max - UInt64(v.magnitude))
        #expect(big == Array(String(UInt64.max - UInt64(v.magnitude)).utf8))
    }

    @Test func theResponseReadsBackAsItsResults() throws {
        let ids = (0..<50).map { _ in UUID() }
        var results = ids.enumerated().map { i, id in
            EventResult(index: i, status: i % 7 == 3 ? .duplicate : .accepted, uuid: id, seq: UInt64(i) * 1_000_003)
        }
        results.append(
            EventResult(
                index: 50, status: .rejected, eventID: "not \"a\" uuid\n",
                error: EventValidationError(.invalidValue, field: "event_id", "not a \"UUID\" \\ here")))
        let response = IngestResponse(status: 200, results: results, retryAfterSeconds: nil, error: nil)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(response.jsonBytes())) as? [String: Any])
        #expect(object["accepted"] as? Int == response.accepted)
        #expect(object["duplicates"] as? Int == response.duplicates)
        #expect(object["rejected"] as? Int == 1)
        let read = try #require(object["results"] as? [[String: Any]])
        #expect(read.count == results.count)
        for (r, want) in zip(read, results) {
            #expect(r["index"] as? Int == want.index)
            #expect(r["status"] as? String == want.status.rawValue)
            #expect(r["event_id"] as? String == want.eventID)
            #expect((r["seq"] as? NSNumber)?.uint64Value == want.seq)
        }
        #expect(results[5].eventID == ids[5].uuidString.lowercased())
        #expect(read[50]["field"] as? String == "event_id")
        #expect((read[50]["message"] as? String)?.hasSuffix("not a \"UUID\" \\ here") == true)
        // An id set as text replaces the parsed one, and results compare by what they say.
        var renamed = results[0]
        renamed.eventID = "x"
        #expect(renamed.eventID == "x")
        #expect(
            EventResult(index: 0, status: .accepted, uuid: ids[0], seq: 0)
                == EventResult(index: 0, status: .accepted, eventID: ids[0].lowercasedString, seq: 0))
    }

    /// The builder's name tables answer as the enums' own parsing does, for every name and near misses of each.
    @Test func nameTablesAnswerAsTheEnumsDo() {
        let names =
            EventType.allCases.map(\.rawValue) + Channel.allCases.map(\.rawValue)
            + JourneyStage.allCases.map(\.rawValue) + ScoreScale.allCases.map(\.rawValue)
        var probes = ["", "pos_txn", "pos.txn", "pos_txn2", "x", String(repeating: "a", count: 17)]
        for name in names {
            probes += [
                name, name.replacingOccurrences(of: ".", with: "_"), name.uppercased(), String(name.dropLast()),
                name + "s", name + "\u{0}", "\u{0}" + name, name + String(repeating: "x", count: 16),
            ]
        }
        for p in probes {
            #expect(FastEventBuilder.types(p) == EventType(name: p), "\(p)")
            #expect(FastEventBuilder.channels(p) == Channel(rawValue: p), "\(p)")
            #expect(FastEventBuilder.stages(p) == JourneyStage(rawValue: p), "\(p)")
            #expect(FastEventBuilder.scales(p) == ScoreScale(rawValue: p), "\(p)")
        }
    }

    @Test func identifiersAreCheckedByteByByte() {
        let fast = FastEventBuilder(limits: .default)
        #expect(fast.identifier("store-038-social-01"))
        #expect(fast.identifier("a.b_c-d:e@f"))
        #expect(!fast.identifier(""))
        #expect(!fast.identifier(String(repeating: "a", count: EventLimits.default.maxIdentifierLength + 1)))
        #expect(fast.identifier(String(repeating: "a", count: EventLimits.default.maxIdentifierLength)))
        for bad in [" ", "/", "é", "\u{0}", "\"", "#", "store 1"] {
            #expect(!fast.identifier("store" + bad + "12345678901234567890"), "\(bad)")
        }
    }
}
