import CXCore
import Foundation
import Testing
@testable import CXInsight

/// PII masking: recall on positives and false-mask rate on look-alikes (Corpus/pii.tsv), plus unit cases.
@Suite struct PIITests {
    let masker = PIIMasker(patterns: [
        PIIPattern(name: "loyalty_id", prefix: "LOY-", minDigits: 8, maxDigits: 10, token: "[LOYALTY]")
    ])

    @Test func corpusRecallAndFalseMaskRate() throws {
        let rows = try corpusLines("pii")
        #expect(rows.count >= 300)
        var positives = 0
        var caught = 0
        var negatives = 0
        var falseMasks = 0
        var byKind: [String: (Int, Int)] = [:]
        for f in rows {
            let (label, kind, span, text) = (f[0], f[1], f[2], f[3])
            let r = masker.mask(text)
            if label == "pos" {
                positives += 1
                let ok = !r.text.contains(span) && r.counts[kind, default: 0] >= 1
                if ok { caught += 1 } else { print("MISS \(kind): \(text) -> \(r.text)") }
                byKind[kind, default: (0, 0)].0 += 1
                if ok { byKind[kind, default: (0, 0)].1 += 1 }
            } else {
                negatives += 1
                if r.total > 0 { falseMasks += 1; print("FALSE MASK: \(text) -> \(r.text)") }
            }
        }
        let recall = Double(caught) / Double(positives)
        let fmr = Double(falseMasks) / Double(negatives)
        print(
            "pii: \(positives) positives, recall \(String(format: "%.3f", recall)); \(negatives) look-alikes, false-mask rate \(String(format: "%.3f", fmr))"
        )
        for (k, v) in byKind.sorted(by: { $0.key < $1.key }) { print("pii \(k): \(v.1)/\(v.0)") }
        #expect(recall >= 0.97)
        #expect(fmr <= 0.02)
    }

    @Test(arguments: [
        ("mail me at ann.smith+cx@example.co.uk please", "mail me at [EMAIL] please"),
        ("call +44 20 7946 0958 today", "call [PHONE] today"),
        ("my number is (555) 123-4567.", "my number is [PHONE]."),
        ("card 4111 1111 1111 1111 was charged", "card [CARD] was charged"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [IBAN] thanks"),
        ("from 192.168.0.12 and 2001:db8::8a2e:370:7334", "from [IP] and [IP]"),
        ("member LOY-12345678 here", "member [LOYALTY] here"),
    ])
    func masksEachKind(_ input: String, _ expected: String) {
        #expect(masker.mask(input).text == expected)
    }

    @Test(arguments: [
        "Order #4827361 arrived late", "SKU-12345-XL out of stock", "It cost $1,249.99", "Paid €19,99",
        "on 2024-01-15 at 10:30", "15/01/2024 14:45:10", "card 4111 1111 1111 1112 (bad Luhn)",
        "receipt 1234567890", "app version 2.3.1.4", "IBAN GB00 WEST 1234 5698 7654 32", "waited 45 minutes",
        // two letters and two digits start an IBAN candidate; short ones (flight numbers) must not trap
        "@VirginAmerica no cold air from the vents. #VX358 #noair #worstflightever #roasted #SFOtoBOS",
        "flight QZ12 was late and nobody at the desk could tell us anything", "AB12", "gate XY99, then gate B4",
    ])
    func leavesLookAlikes(_ input: String) {
        #expect(masker.mask(input).total == 0, "masked: \(masker.mask(input).text)")
    }

    /// A phone number that runs into an e-mail address is masked as one span, leaving neither in the clear.
    /// The eight-bytes-at-a-time pre-check agrees with a byte loop for every byte value at every position of texts
    /// shorter than, as long as and longer than a word, and counts colons exactly.
    @Test(arguments: [1, 7, 8, 9, 15, 16, 17, 24, 31])
    func candidatePrecheckAgreesWithAByteLoop(length: Int) {
        func expected(_ b: [UInt8]) -> (Bool, Bool, Int) {
            (b.contains { $0 >= 0x30 && $0 <= 0x39 }, b.contains(0x40), b.filter { $0 == 0x3A }.count)
        }
        for position in 0..<length {
            for value in 0...255 {
                var text = [UInt8](repeating: UInt8(ascii: "x"), count: length)
                text[position] = UInt8(value)
                text[(position + 3) % length] = value == 0x3A ? 0x3A : text[(position + 3) % length]
                let got = text.withUnsafeBufferPointer { PIIMasker.candidates($0) }
                let want = expected(text)
                #expect(got.digit == want.0 && got.at == want.1 && got.colons == want.2, "byte \(value) at \(position)")
            }
        }
        let colons = [UInt8](repeating: 0x3A, count: length)
        #expect(colons.withUnsafeBufferPointer { PIIMasker.candidates($0) }.colons == length)
    }

    @Test func overlappingPhoneAndEmailAreMaskedTogether() {
        // "1111 192.168" reads as a phone number and "192.168.x@yWEST.co.ab" as an e-mail address
        let r = masker.mask("call 1111 192.168.x@yWEST.co.ab now")
        #expect(r.counts == ["phone": 1, "email": 1])
        #expect(r.text == "call [PHONE] now")
    }

    /// Random mixes of letters, digits, separators and symbols that the detectors key on (IBAN and card
    /// prefixes, e-mail and IP punctuation) go through the whole engine without trapping.
    @Test func randomShapesNeverTrap() throws {
        let engine = try InsightEngine()
        let pieces = [
            "VX358", "GB82", "DE89 3704", "QZ12", "4111", "1111 ", "@", ".", "+44 ", "(555) ", "-", ":", "::", "#",
            "a", "ab", "WEST", " ", "  ", "12", "192.168.", "0", "x@y", ".co", "€", "🙂", "/", "IBAN ", "NO93 8601",
            "é", "ß", "\u{200D}", "\u{FE0F}", "👍🏽", "中文", "’", "n't", "!!!", "??", ":)", "http://x.co/a", "\n", "NOT ",
            "never ", "but ", "refund ", "charged twice ", "LOY-", "$1,249.99", "2024-01-15", "\u{0301}", "\t",
        ]
        var rng = SeededGenerator(seed: 0x5EED)
        for _ in 0..<20_000 {
            var text = ""
            for _ in 0..<Int(rng.next() % 24) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let r = engine.enrich(InsightInput(text: text))
            #expect(r.maskedText != nil)
        }
    }

    @Test func checksums() {
        #expect(PIIMasker.luhnValid(Array([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] as [UInt8])))
        #expect(!PIIMasker.luhnValid(Array([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2] as [UInt8])))
        #expect(PIIMasker.ibanChecksumValid(Array("GB82WEST12345698765432".utf8)))
        #expect(PIIMasker.ibanChecksumValid(Array("DE89370400440532013000".utf8)))
        #expect(!PIIMasker.ibanChecksumValid(Array("DE88370400440532013000".utf8)))
    }

    /// A mask can be longer than what it replaces: a text within the wire's 4,096 scalars could grow past them, and
    /// the hub would refuse every batch that carries it. It is cut to the limit, and analysed as cut.
    @Test func aMaskedTextThatGrowsPastTheWireLimitIsCut() throws {
        let text = String(repeating: "::1 ", count: 1000) + "and a@b.co, thanks"
        #expect(text.unicodeScalars.count <= 4096)
        let r = engine.enrich(InsightInput(text: text))
        let masked = try #require(r.maskedText)
        #expect(masked.unicodeScalars.count == 4096)
        #expect(masked.hasPrefix("[IP] [IP] ") && !masked.contains("::1") && !masked.contains("a@b.co"))
        #expect(r.maskedCounts["ip"] == 1000)
        // a text whose masks do not grow it past the limit is left whole
        let short = engine.enrich(InsightInput(text: "call me at 07700 900123 please"))
        #expect(short.maskedText == "call me at [PHONE] please")
    }

    @Test func engineStoresOnlyMaskedText() {
        let r = engine.enrich(
            InsightInput(text: "Refund to DE89 3704 0044 0532 0130 00 or call 07700 900123, I'm furious"))
        #expect(r.maskedText == "Refund to [IBAN] or call [PHONE], I'm furious")
        #expect(r.enrichment.flags.contains("pii_masked"))
        #expect(r.maskedCounts == ["iban": 1, "phone": 1])
        for i in r.enrichment.intents { #expect(!i.phrase.contains("0044")) }
    }
}
