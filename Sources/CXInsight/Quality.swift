import Foundation

/// Data-quality analysis: language identification, bot and spam heuristics, SimHash fingerprints.
///
/// Everything here sets flags; nothing drops an event. Stateless except for near-duplicate
/// detection, whose memory is a `NearDuplicateWindow` the caller owns.
public struct QualityAnalyzer: Sendable {
    /// Tunable thresholds (Codable for configuration files).
    public struct Configuration: Codable, Sendable, Hashable {
        /// Texts whose SimHash differs in at most this many bits from a recent one are near-duplicates.
        public var maxHammingDistance: Int = 3
        /// How far back near-duplicates are looked for.
        public var duplicateWindowSeconds: Int = 600
        /// How many recent fingerprints are kept.
        public var duplicateWindowCapacity: Int = 1024
        /// Texts with fewer content words are not fingerprinted (short answers repeat legitimately).
        public var minimumWordsForDuplicate: Int = 4
        /// Spam score (2 per URL, 1 per promotional word) at which a text is flagged spam.
        public var spamScoreThreshold: Int = 3
        /// Survey answers submitted faster than this are flagged as bot (when the caller knows the time).
        public var minimumHumanResponseMs: Int = 1500
        public init() {}
    }

    /// Thresholds in use.
    public var configuration: Configuration

    static let languages = ["en", "es", "fr", "de", "it", "pt", "nl"]
    static let stopwords: [[String]] = [
        [
            "the", "and", "is", "was", "to", "of", "it", "i", "my", "you", "for", "with", "this", "that", "not", "have",
            "are", "be", "at", "very", "but", "they", "we", "me", "so", "just", "would", "will", "were", "had", "been",
            "what", "when", "there", "your", "our", "can", "did", "didn't", "don't", "it's", "i'm", "please", "thanks",
            "from", "an", "on", "in", "again", "store", "service", "after", "still", "how", "why", "who", "is", "a",
            "no",
        ],
        [
            "el", "la", "los", "las", "de", "que", "y", "es", "en", "un", "una", "por", "con", "para", "muy", "no",
            "pero", "mi", "lo", "se", "del", "al", "fue", "está", "esta", "servicio", "gracias", "tienda", "mis",
            "nada",
        ],
        [
            "le", "la", "les", "de", "des", "et", "est", "un", "une", "pour", "avec", "pas", "je", "il", "très", "mais",
            "mon", "ma", "ce", "qui", "du", "au", "sur", "été", "merci", "magasin", "vous", "nous", "c'est", "j'ai",
        ],
        [
            "der", "die", "das", "und", "ist", "nicht", "ein", "eine", "ich", "mit", "sehr", "aber", "zu", "von",
            "den", "auf", "für", "es", "war", "wir", "sie", "mein", "danke", "kein", "noch", "nur", "wurde", "habe",
        ],
        [
            "il", "la", "di", "che", "e", "è", "un", "una", "per", "con", "non", "molto", "ma", "mi", "sono", "del",
            "della", "ho", "grazie", "negozio", "servizio", "questo", "anche",
        ],
        [
            "o", "a", "os", "as", "de", "que", "e", "é", "um", "uma", "para", "com", "não", "muito", "mas", "meu",
            "minha", "foi", "do", "da", "obrigado", "obrigada", "loja", "você",
        ],
        [
            "de", "het", "een", "en", "is", "niet", "ik", "met", "voor", "van", "op", "maar", "zeer", "erg", "mijn",
            "was", "wij", "dank", "winkel", "bedankt", "heel", "geen",
        ],
    ]
    static let promoWords = [
        "click", "winner", "prize", "giveaway", "bitcoin", "crypto", "btc", "forex", "casino", "viagra", "followers",
        "subscribe", "dm", "telegram", "investment", "invest", "loan", "loans", "guaranteed", "profit", "income", "bio",
        "congratulations", "100%", "$$$", "xxx", "onlyfans", "nft",
    ]
    /// Promotional words customers use about a store's own offers ("thanks for the free coffee on my first visit,
    /// great offer", "can I claim the free gift with the promo code?"): they count toward spam only in a text that
    /// already has a link or one of `promoWords`.
    static let retailPromoWords = [
        "free", "win", "won", "winning", "earn", "cash", "bonus", "offer", "limited", "visit", "link", "promo", "claim",
    ]
    static let botStrings = [
        "test", "testing", "asdf", "asdfgh", "qwerty", "lorem", "ipsum", "aaaa", "xxxx", "sdfsdf", "jkl", "hjkl",
    ]

    /// Per stop-word language mask (7 bits), 1 / (languages in the mask) in the lane of each of its languages.
    static let stopwordShares: [SIMD8<Double>] = (0..<128).map { m in
        var v = SIMD8<Double>()
        let w = m == 0 ? 0 : 1.0 / Double(m.nonzeroBitCount)
        for k in 0..<7 where m & (1 << k) != 0 { v[k] = w }
        return v
    }

    /// byte -> eight 8-bit lanes holding its bits (lane k = bit k)
    static let spread: [UInt64] = (0..<256).map { b in
        var v: UInt64 = 0
        for k in 0..<8 where b & (1 << k) != 0 { v |= UInt64(1) << UInt64(k * 8) }
        return v
    }

    private var stopTable = TermTable(minimumCapacity: 256)
    private var stopMasks: [UInt8] = []
    private var promo = TermTable(minimumCapacity: 64)
    private var botTable = TermTable(minimumCapacity: 32)
    private(set) var combined = TermTable(minimumCapacity: 512)

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        for (li, words) in Self.stopwords.enumerated() {
            for w in words {
                let h = TermHash.of(w)
                var k = stopTable.get(h)
                if k < 0 {
                    k = Int32(stopMasks.count)
                    stopTable.set(h, k)
                    stopMasks.append(0)
                }
                stopMasks[Int(k)] |= UInt8(1) << UInt8(li)
            }
        }
        for w in Self.promoWords { promo.set(TermHash.of(w), 1) }
        for w in Self.retailPromoWords { promo.set(TermHash.of(w), 2) }
        for w in Self.botStrings { botTable.set(TermHash.of(w), 1) }
        // one table for the hot loop: stop-word mask | promo << 8 | bot << 9 | retail promo << 10
        var all: [UInt64: Int32] = [:]
        for (li, words) in Self.stopwords.enumerated() {
            for w in words { all[TermHash.of(w), default: 0] |= Int32(1) << Int32(li) }
        }
        for w in Self.promoWords { all[TermHash.of(w), default: 0] |= 1 << 8 }
        for w in Self.botStrings { all[TermHash.of(w), default: 0] |= 1 << 9 }
        for w in Self.retailPromoWords { all[TermHash.of(w), default: 0] |= 1 << 10 }
        for (h, v) in all { combined.set(h, v) }
    }

    /// Language guess and confidence in [0, 1]; nil when there is too little evidence.
    public struct LanguageGuess: Sendable, Hashable {
        /// BCP 47 primary subtag, or nil when unsure.
        public var language: String?
        /// Confidence in [0, 1].
        public var confidence: Double
    }

    struct Report {
        var language: LanguageGuess
        var bot: Bool
        var spam: Bool
        var fingerprint: UInt64
        var contentWords: Int
    }

    /// Script of the letters of a text when it is not Latin (e.g. "ru", "ja"), with its share of letters.
    static let scriptNames = ["el", "ru", "he", "ar", "hi", "th", "ja", "ko", "zh"]

    static func script(_ buf: UnsafeBufferPointer<UInt8>) -> (String, Double)? {
        var latin = 0
        var other = 0
        var counts: (Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var i = 0
        while i < buf.count {
            let b = buf[i]
            if b < 0x80 {
                if (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A { latin += 1 }
                i += 1
                continue
            }
            if b >= 0xF0 { i += 4; continue }  // emoji and other astral symbols: no script
            let (s, len) = Tokenizer.decode(buf, i)
            i += len
            switch s {
            case 0xC0...0x24F: latin += 1
            case 0x370...0x3FF: counts.0 += 1; other += 1
            case 0x400...0x4FF: counts.1 += 1; other += 1
            case 0x590...0x5FF: counts.2 += 1; other += 1
            case 0x600...0x6FF: counts.3 += 1; other += 1
            case 0x900...0x97F: counts.4 += 1; other += 1
            case 0xE00...0xE7F: counts.5 += 1; other += 1
            case 0x3040...0x30FF: counts.6 += 1; other += 1
            case 0xAC00...0xD7AF, 0x1100...0x11FF: counts.7 += 1; other += 1
            case 0x4E00...0x9FFF: counts.8 += 1; other += 1
            default: break
            }
        }
        guard other > latin, other >= 2 else { return nil }
        let arr = [counts.0, counts.1, counts.2, counts.3, counts.4, counts.5, counts.6, counts.7, counts.8]
        var best = 0
        for k in 1..<arr.count where arr[k] > arr[best] { best = k }
        var n = arr[best]
        // Japanese texts mix kana and kanji; any kana means Japanese
        if arr[6] > 0 && best == 8 { best = 6; n = arr[6] + arr[8] }
        if best == 6 { n = arr[6] + arr[8] }
        return (scriptNames[best], min(1, Double(n) / Double(other + latin)))
    }

    /// Language of a text (standalone use; the engine calls the token-based variant).
    public func detectLanguage(_ text: String) -> LanguageGuess {
        var t = text
        return t.withUTF8 { buf in
            withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: toks, stats: &st)
                return analyze(buf, toks, n, st, englishHits: 0, responseTimeMs: nil).language
            }
        }
    }

    func analyze(
        _ buf: UnsafeBufferPointer<UInt8>, _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ st: TextStats,
        englishHits: Int, responseTimeMs: Int?
    ) -> Report {
        // language: lane k of `scores` is language k's (lane 7 stays 0)
        var scores = SIMD8<Double>()
        var total = 0.0
        var contentWords = 0
        var promoHits = 0
        var retailPromoHits = 0
        var botHits = 0
        var noVowelLong = 0
        var maxRepeat = 0
        var lastHash: UInt64 = 0
        var repeatRun = 0
        var fp: UInt64 = 0
        Self.spread.withUnsafeBufferPointer { spread in
            Self.stopwordShares.withUnsafeBufferPointer { shares in
                var lanes = SIMD8<UInt64>()
                var features = 0
                for i in 0..<n {
                    let t = toks[i]
                    let h = t.hash
                    if h == lastHash {
                        repeatRun += 1; maxRepeat = max(maxRepeat, repeatRun)
                    } else {
                        repeatRun = 1; lastHash = h
                    }
                    let info = t.entry(.quality, else: combined.get(h))
                    if info > 0 && info & 0x7F != 0 {
                        // adds 1 / (languages of the word) to each of its languages; the other lanes add
                        // exactly 0, so the sums are those of adding to each language alone
                        total += 1
                        scores += shares[Int(info & 0x7F)]
                    }
                    if info > 0 && info & 0x100 != 0 {
                        promoHits += 1
                    } else if info > 0 && info & 0x400 != 0 {
                        retailPromoHits += 1
                    } else if t.altHash != 0 {
                        switch promo.get(t.altHash) {
                        case 1: promoHits += 1
                        case 2: retailPromoHits += 1
                        default: break
                        }
                    }
                    if info > 0 && info & 0x200 != 0 { botHits += 1 }
                    if t.has(Token.letters) && !t.has(Token.number) {
                        contentWords += 1
                        if t.length >= 9 {
                            var vowels = 0
                            for p in Int(t.start)..<Int(t.end) {
                                switch buf[p] | 0x20 {
                                case 0x61, 0x65, 0x69, 0x6F, 0x75, 0x79: vowels += 1
                                default: break
                                }
                            }
                            // Latin words only: a word of another script has no ASCII vowels (and twice or thrice its
                            // letters in bytes), and "Спасибо" or "服务太差了" were flagged bot. Checked only for a
                            // word without vowels, so that the loop above stays as it was.
                            if vowels * 8 < t.length
                                && UnsafeBufferPointer(rebasing: buf[Int(t.start)..<Int(t.end)]).allSatisfy({
                                    $0 < 0x80
                                })
                            {
                                noVowelLong += 1
                            }
                        }
                        // SimHash feature: the word hash, well mixed
                        var x = h ^ (h >> 31)
                        x = x &* 0x7FB5_D329_728E_A185
                        x ^= x >> 27
                        x = x &* 0x81DA_DEF4_BC2D_D44D
                        x ^= x >> 33
                        // SWAR: eight 8-bit lanes per fingerprint byte count the set bits (at most 255 features)
                        if features < 255 {
                            features += 1
                            // the eight addends as one vector: added lane by lane, each took an extract and an insert
                            @inline(__always) func part(_ k: UInt64) -> UInt64 { spread[Int((x >> (8 * k)) & 0xFF)] }
                            let addend = SIMD8<UInt64>(
                                part(0), part(1), part(2), part(3), part(4), part(5), part(6), part(7))
                            lanes &+= addend
                        }
                    }
                }
                fp = Self.majorityBits(lanes, features: features)
            }
        }
        let eng = Double(englishHits) * 0.5
        scores[0] += eng
        total += eng
        var guess = LanguageGuess(language: nil, confidence: 0)
        if st.otherScalars >= 2, let (lang, share) = Self.script(buf) {
            guess = LanguageGuess(language: lang, confidence: (share * 100).rounded() / 100)
        } else if total >= 1 {
            // the first best of the seven scores
            var bi = 0
            for k in 1..<7 where scores[k] > scores[bi] { bi = k }
            let conf = scores[bi] / total * (1 - Foundation.exp(-total / 1.5))
            guess = LanguageGuess(language: Self.languages[bi], confidence: (conf * 100).rounded() / 100)
        }
        // bot
        var bot = false
        if let rt = responseTimeMs, rt < configuration.minimumHumanResponseMs { bot = true }
        if noVowelLong > 0 && noVowelLong * 2 >= contentWords { bot = true }
        if botHits > 0 && botHits * 2 >= n { bot = true }
        // one word five times or more, most of the text ("very very very very good" is a customer's emphasis)
        if n >= 5 && maxRepeat >= 5 && maxRepeat * 2 >= n { bot = true }
        // a run of one letter is mashing when it is the whole text, not beside a word ("Soooooooooooo good",
        // "Noooooooooooo, again?")
        if st.longRun && contentWords <= 1 { bot = true }
        // no letters and no emoji: digits and marks only ("######## 1234"); letters of other scripts are counted
        // apart (`otherScalars`), not as letters
        if st.letters == 0 && st.otherScalars == 0 && buf.count >= 8 {
            var anyEmoji = false
            for i in 0..<n where toks[i].has(Token.emoji) { anyEmoji = true; break }
            if !anyEmoji { bot = true }
        }
        // spam
        let promotes = promoHits + st.urls > 0
        let spamScore = 2 * st.urls + promoHits + (promotes ? retailPromoHits : 0)
        let spam = spamScore >= configuration.spamScoreThreshold || st.urls >= 2 && promoHits + retailPromoHits > 0
        return Report(
            language: guess, bot: bot, spam: spam,
            fingerprint: contentWords >= configuration.minimumWordsForDuplicate ? fp : 0, contentWords: contentWords)
    }

    /// The SimHash bits from the counts of `analyze`'s lanes: bit 8 * b + k is set when byte k of lane b (how many
    /// of the `features` words had that bit) is more than half of them.
    @inline(__always)
    static func majorityBits(_ lanes: SIMD8<UInt64>, features: Int) -> UInt64 {
        var fp: UInt64 = 0
        guard features < 128 else {
            for byte in 0..<8 {
                for bit in 0..<8 where Int((lanes[byte] >> UInt64(bit * 8)) & 0xFF) * 2 > features {
                    fp |= UInt64(1) << UInt64(byte * 8 + bit)
                }
            }
            return fp
        }
        // Every count fits in seven bits: a lane's eight counts are compared with the majority at once (no borrow
        // crosses a byte, whose top bit is set before the subtraction), and the eight answers, one per byte, are
        // gathered into a byte by one multiply.
        let high: UInt64 = 0x8080_8080_8080_8080
        let majority = UInt64(features / 2 + 1) &* 0x0101_0101_0101_0101
        for byte in 0..<8 {
            let atLeast = ((lanes[byte] | high) &- majority) & high
            fp |= (((atLeast >> 7) &* 0x0102_0408_1020_4080) >> 56) << UInt64(byte * 8)
        }
        return fp
    }

    /// 64-bit SimHash of a text's words (0 when it has too few words to be meaningful).
    public func fingerprint(_ text: String) -> UInt64 {
        var t = text
        return t.withUTF8 { buf in
            withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: toks, stats: &st)
                return analyze(buf, toks, n, st, englishHits: 0, responseTimeMs: nil).fingerprint
            }
        }
    }
}

/// The recent SimHash fingerprints against which near-duplicates are found.
///
/// A value type the caller owns (one per agent, or per store when an agent serves several): pass it
/// `inout` to `InsightEngine.enrich(_:state:)` or call `check` directly. Memory is bounded: 16 bytes per
/// fingerprint of `capacity`, and the band index's fixed 512 KiB (1 MiB above 65,535 fingerprints; none when
/// `maxDistance` is above 3); entries older than `windowMs` are ignored. Times are the caller's (event time or wall
/// clock, in milliseconds); nothing reads a clock here, so replays are deterministic.
public struct NearDuplicateWindow: Sendable, Hashable {
    /// Most fingerprints remembered.
    public let capacity: Int
    /// How far back a near-duplicate counts.
    public let windowMs: Int64
    /// Largest Hamming distance that still counts as a near-duplicate.
    public let maxDistance: Int
    private var fingerprints: [UInt64]
    private var times: [Int64]
    /// Per slot, the event it came from (`EventReference.tag`, 0 for none): a producer's retry of an event whose
    /// first attempt was refused after its analysis (the buffer full) is that event again, not a near-duplicate.
    private var events: [UInt64]
    /// Per 16-bit band of the fingerprint, the latest slot whose band had that value, while the slot still holds
    /// it. Two fingerprints at most 3 bits apart agree on at least one of the four bands (pigeonhole), so a
    /// near-duplicate is found in O(1) instead of scanning the window. Only the latest holder of a band value is
    /// remembered, which can miss an older near-duplicate whose band value was reused since; the window scan below
    /// covers distances above 3.
    private var bands: BandIndex?
    private var next = 0
    private var filled = 0

    public init(capacity: Int = 1024, windowSeconds: Int = 600, maxDistance: Int = 3) {
        self.capacity = max(1, capacity)
        windowMs = Int64(windowSeconds) * 1000
        self.maxDistance = maxDistance
        fingerprints = Array(repeating: 0, count: self.capacity)
        times = Array(repeating: .min, count: self.capacity)
        events = Array(repeating: 0, count: self.capacity)
        bands = maxDistance <= 3 ? BandIndex(capacity: self.capacity) : nil
    }

    /// Whether `fingerprint` is within `maxDistance` bits of one seen in the last `windowMs` from another event
    /// than `event` (a tag, 0 for unknown); then remembers it. A zero fingerprint (too short to judge) is never a
    /// duplicate and not stored.
    public mutating func check(_ fingerprint: UInt64, at timeMs: Int64, event: UInt64 = 0) -> Bool {
        if fingerprint == 0 { return false }
        var dup = false
        let oldest = timeMs - windowMs
        let slot = next
        let maxDistance = self.maxDistance
        fingerprints.withUnsafeMutableBufferPointer { f in
            times.withUnsafeMutableBufferPointer { t in
                events.withUnsafeMutableBufferPointer { e in
                    if bands != nil {
                        var sawItself = false
                        dup = bands!.step(fingerprint, slot: slot) { held, band in
                            // the slot's value of this band may have been replaced since it was indexed
                            let x = f[held] ^ fingerprint
                            guard BandIndex.band(x, band) == 0 && t[held] >= oldest && x.nonzeroBitCount <= maxDistance
                            else { return false }
                            if event != 0 && e[held] == event {
                                sawItself = true
                                return false
                            }
                            return true
                        }
                        // The index keeps the latest holder of each band value, which for a retry is its own first
                        // attempt: an older near-duplicate is then found by scanning the window (retries are rare).
                        if !dup && sawItself {
                            for k in 0..<filled
                            where t[k] >= oldest && e[k] != event
                                && (f[k] ^ fingerprint).nonzeroBitCount <= maxDistance
                            {
                                dup = true
                                break
                            }
                        }
                    } else {
                        for k in 0..<filled
                        where t[k] >= oldest && (f[k] ^ fingerprint).nonzeroBitCount <= maxDistance
                            && (event == 0 || e[k] != event)
                        {
                            dup = true
                            break
                        }
                    }
                    f[slot] = fingerprint
                    t[slot] = timeMs
                    e[slot] = event
                }
            }
        }
        next = slot + 1 == capacity ? 0 : slot + 1
        filled = min(filled + 1, capacity)
        return dup
    }

    /// Reads the index entries that `check(fingerprint, at:)` will read, and returns them combined: a caller about
    /// to check a batch warms them all first, so that their cache misses (four random lines each, evicted by the
    /// analysis in between) overlap instead of coming one by one between the checks. The caller keeps the result
    /// (anywhere), so that the loads are not optimised away.
    public func warm(_ fingerprint: UInt64) -> Int {
        guard fingerprint != 0, let bands else { return 0 }
        return bands.load(fingerprint)
    }

    /// Per band, every 16-bit value's latest slot (plus one; 0 for none), never cleared: an entry whose slot has
    /// been overwritten since is told apart by the slot's fingerprint, which no longer has that band value. A check
    /// reads and writes one entry per band, four cache lines in all. The open-addressing tables this replaced (64 KiB
    /// for the default window, which had to forget an overwritten slot's four values and shift their probe runs)
    /// took 96 to 137 ns per check in a microbenchmark, this one 12 to 57 ns.
    struct BandIndex: Sendable, Hashable {
        /// Slots of windows up to 65,535 fingerprints, as `UInt16` (half the memory); larger ones use `wide`.
        private var narrow: [UInt16]
        private var wide: [UInt32]

        init(capacity: Int) {
            precondition(capacity <= Int(UInt32.max), "a near-duplicate window holds at most 2^32 - 1 fingerprints")
            narrow = capacity <= Int(UInt16.max) ? Array(repeating: 0, count: 4 << 16) : []
            wide = narrow.isEmpty ? Array(repeating: 0, count: 4 << 16) : []
        }

        /// The four entries of `fingerprint`'s band values, combined (`warm`).
        @inline(__always) func load(_ fingerprint: UInt64) -> Int {
            if narrow.isEmpty {
                return wide.withUnsafeBufferPointer { Self.load($0, fingerprint) }
            }
            return narrow.withUnsafeBufferPointer { Self.load($0, fingerprint) }
        }

        @inline(__always)
        private static func load<Entry: FixedWidthInteger & UnsignedInteger>(
            _ e: UnsafeBufferPointer<Entry>, _ fingerprint: UInt64
        ) -> Int {
            var x = 0
            for b in 0..<4 { x ^= Int(e[b << 16 | band(fingerprint, b)]) }
            return x
        }

        @inline(__always) static func band(_ fingerprint: UInt64, _ b: Int) -> Int {
            Int(truncatingIfNeeded: (fingerprint >> UInt64(16 &* b)) & 0xFFFF)
        }

        /// Whether the latest slot that held one of `fingerprint`'s band values is `near` (given the slot and the
        /// band); then `fingerprint`, now in `slot`, becomes the latest holder of its values.
        @inline(__always)
        mutating func step(_ fingerprint: UInt64, slot: Int, near: (Int, Int) -> Bool) -> Bool {
            if narrow.isEmpty {
                return wide.withUnsafeMutableBufferPointer { Self.step($0, fingerprint, slot, near) }
            }
            return narrow.withUnsafeMutableBufferPointer { Self.step($0, fingerprint, slot, near) }
        }

        @inline(__always)
        private static func step<Entry: FixedWidthInteger & UnsignedInteger>(
            _ e: UnsafeMutableBufferPointer<Entry>, _ fingerprint: UInt64, _ slot: Int, _ near: (Int, Int) -> Bool
        ) -> Bool {
            var found = false
            for b in 0..<4 {
                let position = b << 16 | band(fingerprint, b)
                let held = Int(e[position])
                if !found && held != 0 && near(held - 1, b) { found = true }
                e[position] = Entry(truncatingIfNeeded: slot + 1)
            }
            return found
        }
    }
}
