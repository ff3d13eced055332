/// An `Enrichment` held without heap storage: intent phrases as byte ranges of the event's (masked) text, themes
/// as positions in the taxonomy, flags as bits.
///
/// The agent enriches every event it ingests; building an `Enrichment` (arrays of intents, themes and flags,
/// a string per phrase) and releasing it again cost more than a third of the enrichment's time there. This
/// form goes from the engine to the stored payload without an allocation, and `enrichment(text:...)` gives the
/// full value when one is needed.
public struct PackedEnrichment: Sendable, Hashable {
    public var sentiment: Enrichment.Sentiment
    /// UTF-8 byte offsets of each intent's phrase in the text, indexed by `Enrichment.Intent.Kind` position in
    /// `allCases` (one intent per kind at most); a start of -1 marks a kind that was not found.
    var phraseStart: SIMD8<Int32> = SIMD8(repeating: -1)
    var phraseEnd: SIMD8<Int32> = .zero
    public var flags: Flags = []
    /// BCP 47 primary language subtag, or nil when the text is too short to tell.
    public var language: String?
    public var languageConfidence: Double = 0
    /// Positions of the themes in the taxonomy's value list (`ThemeTaxonomy.allThemes`).
    public var themes = ThemeSet()

    public init(sentiment: Enrichment.Sentiment) {
        self.sentiment = sentiment
    }

    /// Data-quality flags, in the order their names are stored.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let piiMasked = Flags(rawValue: 1)
        public static let bot = Flags(rawValue: 2)
        public static let spam = Flags(rawValue: 4)
        public static let nonEnglish = Flags(rawValue: 8)
        public static let nearDuplicate = Flags(rawValue: 16)

        /// The stored names, bit by bit; static strings, so that the payload encoder reads their bytes in place.
        public static let names: [(Flags, StaticString)] = [
            (.piiMasked, "pii_masked"), (.bot, "bot"), (.spam, "spam"), (.nonEnglish, "non_english"),
            (.nearDuplicate, "near_duplicate"),
        ]

        /// The flags' names in stored order.
        public var names: [String] { Self.names.compactMap { contains($0.0) ? "\($0.1)" : nil } }
    }

    /// A set of up to 256 taxonomy positions (theme codes are bytes, so larger taxonomies are stored inline).
    public struct ThemeSet: Sendable, Hashable {
        var words: SIMD4<UInt64> = .zero

        public init() {}

        /// Positions that fit the set.
        public static let capacity = 256

        public var isEmpty: Bool { words == .zero }

        public mutating func insert(_ position: Int) {
            precondition(position >= 0 && position < Self.capacity, "theme position \(position) out of range")
            words[position >> 6] |= 1 << UInt64(position & 63)
        }

        /// The positions in ascending order, without building an array.
        public func forEach(_ body: (Int) -> Void) {
            for w in 0..<4 {
                var bits = words[w]
                while bits != 0 {
                    body(w << 6 | bits.trailingZeroBitCount)
                    bits &= bits - 1
                }
            }
        }
    }

    /// Kinds in stored order (complaint, refund, cancellation, praise, question).
    static let kinds = Enrichment.Intent.Kind.allCases

    @inline(__always) static func slot(_ kind: Enrichment.Intent.Kind) -> Int {
        switch kind {
        case .complaint: 0
        case .refund: 1
        case .cancellation: 2
        case .praise: 3
        case .question: 4
        }
    }

    /// Records `kind` with the phrase at UTF-8 offsets `start..<end` of the text, replacing an earlier one.
    public mutating func setIntent(_ kind: Enrichment.Intent.Kind, start: Int, end: Int) {
        phraseStart[Self.slot(kind)] = Int32(start)
        phraseEnd[Self.slot(kind)] = Int32(end)
    }

    public mutating func removeIntent(_ kind: Enrichment.Intent.Kind) {
        phraseStart[Self.slot(kind)] = -1
    }

    public func hasIntent(_ kind: Enrichment.Intent.Kind) -> Bool { phraseStart[Self.slot(kind)] >= 0 }

    /// The intents found, bit `i` for the kind in stored position `i` (complaint 1, refund 2, cancellation 4,
    /// praise 8, question 16): the alert rules test a mask for every event.
    public var intentBits: UInt8 {
        var bits: UInt8 = 0
        for i in 0..<Self.kinds.count where phraseStart[i] >= 0 { bits |= 1 << UInt8(i) }
        return bits
    }

    /// The intents in stored order with their phrases' byte ranges in the text.
    public func forEachIntent(_ body: (Enrichment.Intent.Kind, Range<Int>) -> Void) {
        for (i, kind) in Self.kinds.enumerated() where phraseStart[i] >= 0 {
            body(kind, Int(phraseStart[i])..<Int(phraseEnd[i]))
        }
    }

    /// The full enrichment: phrases cut from `text` (the text the ranges were taken from), themes looked up in
    /// `taxonomy` (the taxonomy's values in order).
    public func enrichment(text: String?, modelVersion: String, taxonomy: [Enrichment.Theme]) -> Enrichment {
        var intents: [Enrichment.Intent] = []
        if var t = text {
            t.withUTF8 { buf in
                forEachIntent { kind, range in
                    let phrase = String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self)
                    intents.append(Enrichment.Intent(kind: kind, phrase: phrase))
                }
            }
        }
        var themes: [Enrichment.Theme] = []
        self.themes.forEach { if $0 < taxonomy.count { themes.append(taxonomy[$0]) } }
        return Enrichment(
            modelVersion: modelVersion, sentiment: sentiment, intents: intents, themes: themes, flags: flags.names,
            language: language, languageConfidence: languageConfidence)
    }
}
