import CXCore
import Crypto
import Foundation
import Testing
@testable import CXInsight

@Suite struct HasherTests {
    let key = Array("fleet-key-for-tests-0123456789ab".utf8)

    @Test func normalisesBeforeHashing() throws {
        let h = try CustomerIdentifierHasher(fleetKey: key, defaultCountryCode: "44")
        #expect(h.hash(" Ann.Smith@Example.COM ", kind: .email) == h.hash("ann.smith@example.com", kind: .email))
        #expect(h.hash("+44 7700 900123", kind: .phone) == h.hash("07700-900-123", kind: .phone))
        #expect(h.hash("0044 7700 900123", kind: .phone) == h.hash("+447700900123", kind: .phone))
        #expect(h.hash("loy-1234 5678", kind: .loyalty) == h.hash("LOY12345678", kind: .loyalty))
        #expect(h.hash("12345678", kind: .loyalty) != h.hash("12345678", kind: .phone))
        #expect(h.hash("", kind: .email) == nil)
    }

    /// With a default country code, every way a store's staff and systems write one number is one customer: the
    /// trunk 0, "(0)" after the country code, the 00 prefix; Italian landlines keep their 0. Without one, national
    /// and international forms stay apart (the hub cannot tell a national number's country).
    @Test func phoneFormsOfOneNumberAreOneCustomer() throws {
        let uk = try CustomerIdentifierHasher(fleetKey: key, defaultCountryCode: "44")
        let forms = ["07700 900123", "+44 7700 900123", "+44 (0)7700 900123", "0044 7700 900123", "(07700) 900-123"]
        #expect(Set(forms.map { uk.hash($0, kind: .phone) }).count == 1)
        #expect(uk.normalize("+44 (0)7700 900123", kind: .phone) == "+447700900123")
        let italy = try CustomerIdentifierHasher(fleetKey: key, defaultCountryCode: "39")
        #expect(italy.normalize("06 1234 5678", kind: .phone) == "+390612345678")
        #expect(italy.hash("06 1234 5678", kind: .phone) == italy.hash("+39 06 1234 5678", kind: .phone))
        let none = try CustomerIdentifierHasher(fleetKey: key)
        #expect(none.hash("07700 900123", kind: .phone) != none.hash("+44 7700 900123", kind: .phone))
        for bad in ["+44", "044", "4444", "4a", " 44"] {
            #expect(CustomerIdentifierHasher.countryCodeProblem(bad) != nil, "\(bad)")
        }
        #expect(CustomerIdentifierHasher.countryCodeProblem("") == nil)
        #expect(CustomerIdentifierHasher.countryCodeProblem("1") == nil)
    }

    @Test func isKeyedHMACSHA256() throws {
        let h = try CustomerIdentifierHasher(fleetKey: key)
        let expected = HMAC<SHA256>.authenticationCode(
            for: Array("email:ann@x.com".utf8), using: SymmetricKey(data: key)
        )
        .prefix(16).map { String(format: "%02x", $0) }.joined()
        #expect(h.hash("ann@x.com", kind: .email) == expected, "HMAC-SHA256 truncated to 128 bits")
        let other = try CustomerIdentifierHasher(fleetKey: Array("another-fleet-key-0123456789abcd".utf8))
        #expect(other.hash("ann@x.com", kind: .email) != expected)
        #expect(h.hash("ann@x.com")?.count == 32)
        #expect(throws: (any Error).self) { try CustomerIdentifierHasher(fleetKey: [1, 2, 3]) }
    }

    /// The hasher's own HMAC computes what `HMAC<SHA256>` does, for keys shorter, as long as and longer than a block
    /// (hashed first) and messages fed in one piece or several.
    @Test(arguments: [16, 32, 63, 64, 65, 200])
    func keyedSHA256IsHMACSHA256(keyLength: Int) {
        let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let keyed = KeyedSHA256(key: key)
        for length in [0, 1, 55, 56, 64, 65, 130] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ keyLength) }
            let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
            var whole = keyed.begin()
            message.withUnsafeBytes { whole.update($0) }
            #expect(Array(whole.finalize()) == expected, "key \(keyLength) bytes, message \(length) bytes")
            var pieces = keyed.begin()
            message.withUnsafeBytes { raw in
                stride(from: 0, to: raw.count, by: 17).forEach {
                    pieces.update(UnsafeRawBufferPointer(rebasing: raw[$0..<min(raw.count, $0 + 17)]))
                }
            }
            #expect(Array(pieces.finalize()) == expected, "in pieces: key \(keyLength) bytes, message \(length) bytes")
        }
    }

    /// Identifiers are nearly always ASCII and take a byte-mapping path; it must agree with Foundation's case
    /// mapping, which the others still take.
    @Test(arguments: [
        ("Ann.Smith@Example.COM", CustomerIdentifierHasher.Kind.email), ("loy-12 ab", .loyalty),
        ("Zoë.Ünal@Exämple.COM", .email), ("straße-1 x", .loyalty), ("CUST-016037", .loyalty),
    ])
    func caseMappingAgreesWithFoundation(raw: String, kind: CustomerIdentifierHasher.Kind) throws {
        let h = try CustomerIdentifierHasher(fleetKey: key)
        let expected = kind == .email ? raw.lowercased() : raw.uppercased().filter { $0 != " " && $0 != "-" }
        #expect(h.normalize(raw, kind: kind) == expected)
    }

    /// The byte-by-byte path (ASCII e-mail and loyalty ids) hashes exactly what `normalize` gives, as every other
    /// identifier is hashed: HMAC-SHA256 of `kind:normalised`.
    @Test(arguments: [
        ("Ann.Smith@Example.COM", CustomerIdentifierHasher.Kind.email), ("ann@x.com", .email), (" Ann@X.com ", .email),
        ("no-at-sign", .email), ("Zoë.Ünal@Exämple.COM", .email), ("cust-016167", .loyalty), ("loy-12 ab", .loyalty),
        ("- -", .loyalty), ("straße-1 x", .loyalty), (String(repeating: "ab-", count: 50), .loyalty),
        (String(repeating: "Q", count: 64) + "@x.io", .email), ("+44 7700 900123", .phone), ("12", .phone),
    ])
    func hashIsTheHMACOfTheNormalisedIdentifier(raw: String, kind: CustomerIdentifierHasher.Kind) throws {
        let h = try CustomerIdentifierHasher(fleetKey: key, defaultCountryCode: "44")
        let expected = h.normalize(raw, kind: kind).map { norm in
            HMAC<SHA256>.authenticationCode(
                for: Array("\(kind.rawValue):\(norm)".utf8), using: SymmetricKey(data: key)
            )
            .prefix(16).map { String(format: "%02x", $0) }.joined()
        }
        #expect(h.hash(raw, kind: kind) == expected)
    }

    @Test func guessesTheKindFromTheShape() {
        #expect(CustomerIdentifierHasher.guessKind("ann@x.com") == .email)
        #expect(CustomerIdentifierHasher.guessKind("+44 7700 900123") == .phone)
        #expect(CustomerIdentifierHasher.guessKind("12345678") == .phone)
        #expect(CustomerIdentifierHasher.guessKind("123456") == .loyalty)
        #expect(CustomerIdentifierHasher.guessKind("cust-016037") == .loyalty)
        #expect(CustomerIdentifierHasher.guessKind("Zoë 1234567") == .loyalty)
    }

    @Test func engineHashesCustomerIDs() {
        let a = engine.enrich(InsightInput(text: "hi", customerID: "Ann@x.com"))
        let b = engine.enrich(InsightInput(text: "hi", customerID: "ann@x.com"))
        #expect(a.customerKey != nil && a.customerKey == b.customerKey)
        var state = engine.makeState()
        let c = engine.enrich(InsightInput(text: "hi", customerID: "ann@x.com"), state: &state)
        let d = engine.enrich(InsightInput(text: "hi", customerID: "ann@x.com"), state: &state)  // cached
        #expect(c.customerKey == a.customerKey && d.customerKey == a.customerKey)
    }
}

@Suite struct ThemeTests {
    @Test func defaultTaxonomyLoads() throws {
        let t = try ThemeTaxonomy.bundledDefault()
        #expect(Set(t.dimensions.map(\.name)) == ["product_area", "driver", "journey_stage", "severity"])
        let tags = ThemeTagger(taxonomy: t).tag("The self-checkout kiosk charged me twice and the queue took forever")
        #expect(tags.contains(Enrichment.Theme(dimension: "product_area", value: "kiosk")))
        #expect(tags.contains(Enrichment.Theme(dimension: "driver", value: "billing")))
        #expect(tags.contains(Enrichment.Theme(dimension: "driver", value: "wait_time")))
        #expect(tags.filter { $0.dimension == "severity" }.map(\.value) == ["high"])  // exclusive dimension
    }

    @Test func customTaxonomyFromJSONWithInflections() throws {
        let json =
            #"{"version":"t1","dimensions":[{"name":"area","values":[{"name":"bakery","terms":["croissant","sourdough loaf"]}]}]}"#
        let tax = try ThemeTaxonomy(json: Data(json.utf8))
        let tagger = ThemeTagger(taxonomy: tax)
        #expect(tagger.tag("Two CROISSANTS please") == [Enrichment.Theme(dimension: "area", value: "bakery")])
        #expect(tagger.tag("the sourdough loaf was stale") == [Enrichment.Theme(dimension: "area", value: "bakery")])
        #expect(tagger.tag("sourdough, loaf").isEmpty)  // a phrase does not span a clause boundary
        #expect(tagger.tag("nothing here").isEmpty)
        let roundTrip = try JSONDecoder().decode(ThemeTaxonomy.self, from: JSONEncoder().encode(tax))
        #expect(roundTrip == tax)
    }

    /// Phrases sharing a head word: a head whose next word starts none of its phrases is skipped, and every phrase
    /// of a head, two words or three, still matches.
    @Test func phrasesSharingAHeadWord() throws {
        let json =
            #"{"version":"t2","dimensions":[{"name":"area","values":[{"name":"service","terms":["customer service","customer care team"]},{"name":"loyalty","terms":["customer card"]}]}]}"#
        let tagger = ThemeTagger(taxonomy: try ThemeTaxonomy(json: Data(json.utf8)))
        #expect(tagger.tag("Customer service was slow") == [Enrichment.Theme(dimension: "area", value: "service")])
        #expect(tagger.tag("the customer care team helped") == [Enrichment.Theme(dimension: "area", value: "service")])
        #expect(tagger.tag("lost my customer card") == [Enrichment.Theme(dimension: "area", value: "loyalty")])
        #expect(tagger.tag("customer care was fine").isEmpty)  // two words of a three-word phrase
        #expect(tagger.tag("a customer waited").isEmpty)
        #expect(tagger.tag("customer").isEmpty)  // the head ends the text
    }
}

extension ThemeTests {
    /// The suffix rules do not make other words of a term: "feed" is no fee, "phoned" no phone, "seated" no seat.
    @Test(arguments: [
        ("my instagram feed is full of your ads", "billing", false), ("the fees were hidden", "billing", true),
        ("I phoned the store twice", "electronics", false), ("my phones arrived broken", "electronics", true),
        ("we were seated quickly", "travel", false), ("the seats were dirty", "travel", true),
    ])
    func inflectionsAreNotOtherWords(text: String, theme: String, tagged: Bool) {
        let themes = engine.enrich(InsightInput(text: text)).enrichment.themes
        #expect(themes.contains { $0.value == theme } == tagged, "\(themes)")
    }

    /// The masker's replacements are not the customer's words: a phone number left for a call back tagged the text
    /// `electronics` ("[PHONE]"), an address `communication` ("[EMAIL]"), a configured loyalty number the loyalty
    /// theme ("[LOYALTY]"). The same words written by the customer still count, in the batch analysis as in one
    /// text's.
    @Test(arguments: [
        ("Please ring me back on +44 7700 900123", "electronics", false),
        ("The phone I bought broke, ring me on +44 7700 900123", "electronics", true),
        ("Reach me at jane.doe@example.com about the refund", "communication", false),
        ("Your email said jane.doe@example.com was refunded", "communication", true),
        ("Move LOY-12345678 to my new address", "loyalty", false),
        ("My loyalty number LOY-12345678 was not recognised", "loyalty", true),
    ])
    func maskPlaceholdersAreNotWords(text: String, theme: String, tagged: Bool) {
        let single = engine.enrich(InsightInput(text: text)).enrichment
        #expect(single.flags.contains("pii_masked"))
        #expect(single.themes.contains { $0.value == theme } == tagged, "\(single.themes)")
        let batch = engine.analyzePacked(
            [InsightInput(text: "nothing to mask here"), InsightInput(text: text)], scratch: InsightScratch())
        let values = engine.themeValues
        var themes: [Enrichment.Theme] = []
        batch[1].enrichment.themes.forEach { themes.append(values[$0]) }
        #expect(Set(themes) == Set(single.themes), "\(themes) against \(single.themes)")
    }
}

@Suite struct QualityTests {
    /// The SimHash majority of the lanes' byte counts, eight at a time below 128 features, bit for bit as one count
    /// at a time; counts at and around the majority, and up to the feature count.
    @Test(arguments: [0, 1, 2, 3, 7, 8, 63, 64, 126, 127, 128, 129, 200, 254, 255])
    func majorityBitsCountByCount(features: Int) {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<500 {
            var lanes = SIMD8<UInt64>()
            for b in 0..<8 {
                for k in 0..<8 {
                    // near the majority in a third of the rounds, anywhere up to the feature count otherwise
                    let near = max(0, min(features, features / 2 + Int.random(in: -1...1, using: &rng)))
                    let count = round % 3 == 0 ? near : Int.random(in: 0...features, using: &rng)
                    lanes[b] |= UInt64(count) << UInt64(8 * k)
                }
            }
            var expected: UInt64 = 0
            for b in 0..<8 {
                for k in 0..<8 where Int((lanes[b] >> UInt64(8 * k)) & 0xFF) * 2 > features {
                    expected |= 1 << UInt64(8 * b + k)
                }
            }
            #expect(QualityAnalyzer.majorityBits(lanes, features: features) == expected, "\(lanes)")
        }
    }

    let q = QualityAnalyzer()

    @Test(arguments: [
        ("The staff were very helpful and the store was clean", "en"),
        ("El servicio fue muy lento y no me dieron el recibo", "es"),
        ("Le magasin était sale et le personnel pas très aimable", "fr"),
        ("Die Kasse war sehr langsam und das Personal nicht freundlich", "de"),
        ("Il negozio era molto pulito e il personale gentile", "it"),
        ("Очень долго ждали на кассе", "ru"),
        ("レジの待ち時間が長すぎます", "ja"),
    ])
    func detectsLanguage(_ text: String, _ lang: String) {
        let g = q.detectLanguage(text)
        #expect(g.language == lang)
        #expect(g.confidence > 0.3 && g.confidence <= 1)
    }

    @Test func tooShortToTell() {
        #expect(q.detectLanguage("👍").language == nil)
    }

    @Test func botAndSpamFlags() {
        func flags(_ t: String, ms: Int? = nil) -> [String] {
            engine.enrich(InsightInput(text: t, responseTimeMs: ms)).enrichment.flags
        }
        #expect(flags("asdfghjklqwrtzp sdfghjklzxcvb").contains("bot"))
        #expect(flags("test test test test test").contains("bot"))
        #expect(flags("Great store, friendly staff", ms: 300).contains("bot"))
        #expect(flags("WIN a FREE iPhone!!! click http://spam.example/win now").contains("spam"))
        #expect(flags("The website www.shop.example keeps crashing at checkout").isEmpty)
        #expect(flags("Great store, friendly staff", ms: 9000).isEmpty)
        #expect(flags("aaaaaaaaaaaaaaaa").contains("bot"))
    }

    /// Customers a review found flagged bot or spam, and so raising no alert: other scripts (no ASCII vowels, and
    /// repeated lead bytes), emphasis ("!!!!!!!!!!!!", "Noooooooooooooo"), ruled lines, padded fields, and complaints
    /// that quote a promotion.
    @Test(arguments: [
        "Спасибо", "Очень плохое обслуживание", "服务太差了", "الخدمة سيئة جدا", "店員の対応がとても悪かったです",
        "Worst service ever!!!!!!!!!!!!", "Great!!!!!!!!!!!!!!!", "Noooooooooooooo my order is late again",
        "See below\n------------\nThe order never came", "Order number:            12345 never arrived",
        "The promo code from https://shop.example.com/deals did not work at checkout",
        "Your limited time offer for free delivery did not apply, I was charged twice",
        "I want my cash back, the bonus points offer was a lie",
        "Thanks for the free coffee on my first visit, great offer", "Can I claim the free gift with the promo code?",
        "Soooooooooooo good", "Loooooooooooove it", "very very very very good",
        "Photos of the damage: https://img.example/1.jpg https://img.example/2.jpg",
    ])
    func customersAreNotBotsOrSpam(text: String) {
        let flags = engine.enrich(InsightInput(text: text)).enrichment.flags
        #expect(!flags.contains("bot") && !flags.contains("spam"), "\(flags)")
    }

    /// "no" is English too: a curt complaint of noes read as Spanish.
    @Test(arguments: ["No receipt, no apology, no refund", "No bags no help", "No, no and no. Terrible"])
    func englishNoesAreEnglish(text: String) {
        let e = engine.enrich(InsightInput(text: text)).enrichment
        #expect(!e.flags.contains("non_english") && e.language == "en", "\(e.flags) \(e.language ?? "-")")
    }

    /// Promotional words a store's customers use count toward spam beside a link or a spammer's word.
    @Test(arguments: [
        "Congratulations, you won a free prize, claim it now", "Earn cash fast, visit http://x.example today",
        "free followers free followers visit my bio",
        "Limited offer: free bonus at https://a.example and https://b.example",
    ])
    func promotionsAreSpam(text: String) {
        #expect(engine.enrich(InsightInput(text: text)).enrichment.flags.contains("spam"))
    }

    @Test func nearDuplicatesWithinWindowOnly() {
        var w = NearDuplicateWindow(capacity: 8, windowSeconds: 60, maxDistance: 3)
        let a = q.fingerprint("The checkout line took forever and the cashier was rude to me")
        let b = q.fingerprint("The checkout line took forever and the cashier was rude to me!!")
        let c = q.fingerprint("Lovely bakery, fresh bread every morning, friendly people")
        #expect(a != 0 && a == b)
        #expect((a ^ c).nonzeroBitCount > 3)
        let c1 = w.check(a, at: 0)
        let c2 = w.check(b, at: 10_000)
        let c3 = w.check(c, at: 20_000)
        let c4 = w.check(a, at: 200_000)  // outside the 60 s window
        let c5 = w.check(q.fingerprint("ok"), at: 200_001)  // too short: never a duplicate
        #expect(!c1 && c2 && !c3 && !c4 && !c5)
        var state = engine.makeState()
        let t = "The checkout line took forever and the cashier was rude to me"
        let f1 = engine.enrich(InsightInput(text: t, timeMs: 0), state: &state).enrichment.flags
        let f2 = engine.enrich(InsightInput(text: t, timeMs: 1000), state: &state).enrichment.flags
        #expect(!f1.contains("near_duplicate"))
        #expect(f2.contains("near_duplicate"))
    }

    /// The stateful stage's clock never goes back: a request analysed earlier that reaches it after a later one (or a
    /// wall clock stepped back) passed every cooldown, and raised its alert again milliseconds later.
    @Test func theStatefulStageClockNeverGoesBack() {
        var state = engine.makeState()
        let angry = "This is the worst store ever, the staff were rude and the queue was horrible"
        let first = engine.enrich(InsightInput(text: angry, timeMs: 10_000), state: &state)
        let earlier = engine.enrich(
            InsightInput(text: "Terrible, awful service, I hate this shop and its rude manager", timeMs: 9_000),
            state: &state)
        #expect(first.alerts.map(\.ruleID).contains("very-negative"))
        #expect(!earlier.alerts.map(\.ruleID).contains("very-negative"), "\(earlier.alerts.map(\.ruleID))")
        #expect(state.clockMillis == 10_000)
        // A step back of more than 5 minutes (a box that ran ahead until NTP set it right) starts the clock again:
        // held at the later time, no cooldown would ever end.
        let ahead: Int64 = 1_000_000_000
        _ = engine.enrich(InsightInput(text: angry, timeMs: ahead), state: &state)
        _ = engine.enrich(InsightInput(text: "fine", timeMs: ahead - 400_000), state: &state)
        #expect(state.clockMillis == ahead - 400_000)
    }

    /// The same event seen again (a producer's retry of a request refused after its analysis) is not a
    /// near-duplicate of itself, with the band index (distance 3) and without it (distance 5); another event with
    /// the same text is, and events without an id (tag 0) are never taken for one another.
    @Test(arguments: [3, 5])
    func aRetriedEventIsNotItsOwnNearDuplicate(maxDistance: Int) {
        var w = NearDuplicateWindow(capacity: 8, windowSeconds: 60, maxDistance: maxDistance)
        let a = q.fingerprint("The checkout line took forever and the cashier was rude to me")
        let first = w.check(a, at: 0, event: 7)
        let retry = w.check(a, at: 1_000, event: 7)
        let other = w.check(a, at: 2_000, event: 8)
        #expect(!first && !retry && other)
        // the retry of an event that is a near-duplicate of an earlier one is still flagged (its own first attempt
        // is the index's latest holder of every band)
        let retriedCopy = w.check(a, at: 3_000, event: 8)
        #expect(retriedCopy)
        var anonymous = NearDuplicateWindow(capacity: 8, windowSeconds: 60, maxDistance: maxDistance)
        #expect(!anonymous.check(a, at: 0) && anonymous.check(a, at: 1_000))
        var state = engine.makeState()
        let t = "The checkout line took forever and the cashier was rude to me"
        let id = EventReference.uuid(UUID())
        let f1 = engine.enrich(InsightInput(text: t, timeMs: 0, event: id), state: &state).enrichment.flags
        let f2 = engine.enrich(InsightInput(text: t, timeMs: 1000, event: id), state: &state).enrichment.flags
        #expect(!f1.contains("near_duplicate") && !f2.contains("near_duplicate"))
    }

    /// The window's band index against a plain one (every 16-bit value of every band, never cleared, each slot
    /// checked whole): the same answers for streams that reuse band values, repeat fingerprints, come within 1 to 4
    /// bits of earlier ones and wrap the window, with 16-bit slots (up to 65,535 fingerprints) and 32-bit ones.
    @Test(arguments: [(1, 0), (8, 1), (64, 2), (1024, 3), (16_384, 4), (65_535, 5), (65_536, 6)])
    func nearDuplicateBandIndexMatchesFullTable(capacity: Int, seed: UInt64) {
        struct FullTable {
            var fingerprints: [UInt64]
            var times: [Int64]
            var bands = [Int32](repeating: -1, count: 4 << 16)
            var next = 0
            var filled = 0
            init(_ capacity: Int) {
                fingerprints = Array(repeating: 0, count: capacity)
                times = Array(repeating: .min, count: capacity)
            }
            mutating func check(_ f: UInt64, at t: Int64, windowMs: Int64) -> Bool {
                if f == 0 { return false }
                var dup = false
                for b in 0..<4 {
                    let slot = Int(bands[(b << 16) | Int((f >> UInt64(16 * b)) & 0xFFFF)])
                    guard slot >= 0 && slot < filled else { continue }
                    let x = fingerprints[slot] ^ f
                    if (x >> UInt64(16 * b)) & 0xFFFF == 0 && times[slot] >= t - windowMs && x.nonzeroBitCount <= 3 {
                        dup = true
                        break
                    }
                }
                fingerprints[next] = f
                times[next] = t
                for b in 0..<4 { bands[(b << 16) | Int((f >> UInt64(16 * b)) & 0xFFFF)] = Int32(next) }
                next = (next + 1) % fingerprints.count
                filled = min(filled + 1, fingerprints.count)
                return dup
            }
        }
        var rng = SplitMix(seed: seed)
        var window = NearDuplicateWindow(capacity: capacity, windowSeconds: 60, maxDistance: 3)
        var reference = FullTable(capacity)
        // Few distinct band values, so that values are reused and slots overwritten while still indexed.
        let pool = (0..<48).map { _ in rng.next() & 0x000F_000F_000F_000F }
        var seen: [UInt64] = []
        var duplicates = 0
        var mismatches: [Int] = []
        // every window wraps at least twice, so that slots are overwritten while the index still names them
        for i in 0..<max(20_000, 3 * capacity) {
            var f: UInt64
            switch rng.next() % 4 {
            case 0 where !seen.isEmpty:
                f = seen[Int(rng.next() % UInt64(seen.count))]
                for _ in 0..<Int(rng.next() % 5) { f ^= 1 << (rng.next() % 64) }
            case 1: f = pool[Int(rng.next() % UInt64(pool.count))]
            default: f = rng.next()
            }
            let t = Int64(i) * 25
            let got = window.check(f, at: t)
            if got != reference.check(f, at: t, windowMs: 60_000) { mismatches.append(i) }
            if got { duplicates += 1 }
            seen.append(f)
            if seen.count > 4 * capacity { seen.removeFirst(seen.count - 4 * capacity) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) different answers, first at events \(mismatches.prefix(5))")
        #expect(duplicates > 0)
    }
}

/// A small deterministic generator for tests (SplitMix64).
struct SplitMix {
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
