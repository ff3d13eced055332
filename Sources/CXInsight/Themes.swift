import CXCore
import Foundation

/// A theme taxonomy: dimensions (product area, driver, journey stage, severity...) whose values are
/// matched by words and phrases.
///
/// `Codable` so that a deployment can ship its own taxonomy as JSON or YAML configuration; the
/// default retail taxonomy is bundled (`Resources/default_taxonomy.json`).
public struct ThemeTaxonomy: Codable, Sendable, Hashable {
    /// One value of a dimension and the words or phrases (case-insensitive, whole words) that signal it.
    public struct Value: Codable, Sendable, Hashable {
        /// Name as it appears in tags.
        public var name: String
        /// Words or phrases (case-insensitive, whole words) that signal it.
        public var terms: [String]
        /// Phrases in which its single-word terms mean something else: loyalty's "member" is not a "staff member",
        /// returns' "return" not a "return flight". Its phrases still count inside them.
        public var except: [String]?
        /// Tagged only in a text that states a problem (a complaint, refund or cancellation intent, or a negative
        /// sentiment): a severity whose words are not problems by themselves ("manager", "refund"), so that "the
        /// manager was lovely" or "I got my refund, thanks" has none. The tagger alone, which knows no intents,
        /// keeps it (`tag(_:)`).
        public var problemOnly: Bool?
        public init(name: String, terms: [String], except: [String]? = nil, problemOnly: Bool? = nil) {
            self.name = name
            self.terms = terms
            self.except = except
            self.problemOnly = problemOnly
        }
        enum CodingKeys: String, CodingKey {
            case name, terms, except
            case problemOnly = "problem_only"
        }
    }
    /// A dimension; when `exclusive` only its first matching value (in taxonomy order) is kept,
    /// which suits ordinal dimensions such as severity.
    public struct Dimension: Codable, Sendable, Hashable {
        /// Name as it appears in tags.
        public var name: String
        /// Keep only the first matching value (ordinal dimensions such as severity).
        public var exclusive: Bool?
        /// Values of the dimension, in priority order.
        public var values: [Value]
        public init(name: String, exclusive: Bool? = nil, values: [Value]) {
            self.name = name
            self.exclusive = exclusive
            self.values = values
        }
    }
    /// Version of the taxonomy, recorded in configuration audits.
    public var version: String
    /// Dimensions of the taxonomy.
    public var dimensions: [Dimension]

    public init(version: String, dimensions: [Dimension]) {
        self.version = version
        self.dimensions = dimensions
    }

    /// Every tag of the taxonomy, dimension by dimension, in the file's order.
    public var allThemes: [Enrichment.Theme] {
        dimensions.flatMap { d in d.values.map { Enrichment.Theme(dimension: d.name, value: $0.name) } }
    }

    /// Decodes a taxonomy from JSON.
    public init(json: Data) throws {
        self = try JSONDecoder().decode(ThemeTaxonomy.self, from: json)
    }

    /// The retail taxonomy bundled with the module.
    public static func bundledDefault() throws -> ThemeTaxonomy {
        var t = try ThemeTaxonomy(json: Data(InsightResources.load("default_taxonomy", "json")))
        for i in t.dimensions.indices where t.dimensions[i].name == "severity" && t.dimensions[i].exclusive == nil {
            t.dimensions[i].exclusive = true
        }
        return t
    }
}

/// Matches a `ThemeTaxonomy` against texts.
///
/// Single-word terms also match their regular inflections (plural, -ed, -ing), so taxonomies stay short.
public struct ThemeTagger: Sendable {
    /// The taxonomy it was compiled from.
    public let taxonomy: ThemeTaxonomy
    private(set) var words = TermTable(minimumCapacity: 1024)
    private var wordValues: [[Int32]] = []
    private(set) var phraseHeads = TermTable(minimumCapacity: 256)
    private var phraseHeadMax: [UInt8] = []
    /// Per phrase head, the second words of its phrases: a head followed by none of them starts no phrase, and its
    /// phrase probes (a hash table miss each) are skipped.
    private var phraseSecond: [WordSignature] = []
    private var phrases = TermTable(minimumCapacity: 256)
    private var phraseValues: [[Int32]] = []
    private var flatWord: [Int32] = []  // per word index: start, count pairs into flatValues
    private var flatPhrase: [Int32] = []
    private var flatValues: [Int32] = []
    private var valueThemes: [Enrichment.Theme] = []
    private var valueDimension: [Int32] = []
    private var exclusive: [Bool] = []
    /// Values tagged only in a text that states a problem (`Value.problemOnly`), a bit per value as `values` marks
    /// its hits.
    private var problemOnlyBits: [UInt64] = []

    /// Compiles the taxonomy into lookup tables.
    public init(taxonomy: ThemeTaxonomy) {
        self.taxonomy = taxonomy
        for (di, d) in taxonomy.dimensions.enumerated() {
            exclusive.append(d.exclusive ?? false)
            for v in d.values {
                let vid = Int32(valueThemes.count)
                valueThemes.append(Enrichment.Theme(dimension: d.name, value: v.name))
                valueDimension.append(Int32(di))
                if vid >> 6 >= problemOnlyBits.count { problemOnlyBits.append(0) }
                if v.problemOnly == true { problemOnlyBits[Int(vid >> 6)] |= 1 << UInt64(vid & 63) }
                for term in v.terms {
                    let parts = term.lowercased().split(separator: " ").map(String.init)
                    if parts.count == 1 {
                        for form in Self.inflections(parts[0]) { addWord(TermHash.of(form), vid) }
                    } else if parts.count >= 2 {
                        addPhrase(parts, vid)
                    }
                }
                // An exception is a phrase whose entry is the value's veto, -(vid + 1).
                for phrase in v.except ?? [] {
                    let parts = phrase.lowercased().split(separator: " ").map(String.init)
                    if parts.count >= 2 { addPhrase(parts, -(vid + 1)) }
                }
            }
        }
        flatten()
    }

    private mutating func addPhrase(_ parts: [String], _ entry: Int32) {
        let hs = parts.map { TermHash.of($0) }
        var key = hs[0]
        for h in hs.dropFirst() { key = TermHash.combine(key, h) }
        var pi = phrases.get(key)
        if pi < 0 {
            pi = Int32(phraseValues.count)
            phrases.set(key, pi)
            phraseValues.append([])
        }
        if !phraseValues[Int(pi)].contains(entry) { phraseValues[Int(pi)].append(entry) }
        var hi = phraseHeads.get(hs[0])
        if hi < 0 {
            hi = Int32(phraseHeadMax.count)
            phraseHeads.set(hs[0], hi)
            phraseHeadMax.append(0)
            phraseSecond.append(WordSignature())
        }
        phraseHeadMax[Int(hi)] = max(phraseHeadMax[Int(hi)], UInt8(min(parts.count, 6)))
        phraseSecond[Int(hi)].insert(hs[1])
    }

    private mutating func flatten() {
        for list in wordValues {
            flatWord.append(Int32(flatValues.count))
            flatWord.append(Int32(list.count))
            flatValues += list
        }
        for list in phraseValues {
            flatPhrase.append(Int32(flatValues.count))
            flatPhrase.append(Int32(list.count))
            flatValues += list
        }
    }

    private mutating func addWord(_ h: UInt64, _ vid: Int32) {
        var i = words.get(h)
        if i < 0 {
            i = Int32(wordValues.count)
            words.set(h, i)
            wordValues.append([])
        }
        if !wordValues[Int(i)].contains(vid) { wordValues[Int(i)].append(vid) }
    }

    static func inflections(_ w: String) -> [String] {
        guard w.count >= 3, w.allSatisfy({ $0.isLetter }) else { return [w] }
        var out = [w, w + "s"]
        if w.hasSuffix("e") {
            out += [w + "d", String(w.dropLast()) + "ing"]
        } else if w.hasSuffix("y") {
            out += [String(w.dropLast()) + "ies", String(w.dropLast()) + "ied", w + "ing"]
        } else {
            out += [w + "es", w + "ed", w + "ing"]
        }
        return out.filter { $0 == w || !otherWords.contains($0) }
    }

    /// Forms the suffix rules make of a term that are other words: "fee" is not "my instagram feed", a phone is not
    /// "I phoned the store", a store not "stored my card details", a seat not "we were seated quickly". A taxonomy
    /// that means one of them lists it as a term.
    static let otherWords: Set<String> = [
        "feed", "phoned", "phoning", "stored", "storing", "seated", "tilled", "tilling", "gated", "lined", "lining",
        "downed", "floored", "crewed", "messed", "messing", "boxing", "carding", "sited", "siting", "dealing", "dealed",
        "lounging", "freshed", "costing",
    ]

    /// Themes of a text, in taxonomy order.
    public func tag(_ text: String) -> [Enrichment.Theme] {
        var t = text
        return t.withUTF8 { buf in
            let cap = Tokenizer.capacity(buf.count)
            return withUnsafeTemporaryAllocation(of: Token.self, capacity: cap) { toks in
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: toks, stats: &st)
                return tag(toks, n)
            }
        }
    }

    func tag(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, problem: Bool = true
    ) -> [Enrichment.Theme] {
        var out: [Enrichment.Theme] = []
        values(toks, n, problem: problem) { out.append(valueThemes[$0]) }
        return out
    }

    /// The taxonomy's values in order, the positions `PackedEnrichment.themes` refers to.
    var values: [Enrichment.Theme] { valueThemes }

    /// Whether every position of the taxonomy fits a `PackedEnrichment.ThemeSet`.
    var fitsThemeSet: Bool { valueThemes.count <= PackedEnrichment.ThemeSet.capacity }

    /// `tag` as positions in `values` (the taxonomy must fit the set: `fitsThemeSet`).
    func tagSet(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, problem: Bool = true
    ) -> PackedEnrichment.ThemeSet {
        var set = PackedEnrichment.ThemeSet()
        values(toks, n, problem: problem) { set.insert($0) }
        return set
    }

    /// Calls `body` with the position of every value the text is tagged with, in taxonomy order; without a stated
    /// `problem`, a problem-only value is left out before an exclusive dimension keeps its first value, so that "the
    /// manager was lovely, the delivery a bit late" keeps the medium severity of "late".
    private func values(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, problem: Bool, _ body: (Int) -> Void
    ) {
        let vc = valueThemes.count
        if vc == 0 || n == 0 { return }
        // A bit per value: clearing and scanning a flag per value of the taxonomy cost more than the matching.
        let hitWords = (vc + 63) / 64
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: hitWords) { hit in
            hit.initialize(repeating: 0)
            @inline(__always) func mark(_ v: Int32) { hit[Int(v) >> 6] |= UInt64(1) << UInt64(v & 63) }
            var vetoes = Vetoes()
            flatValues.withUnsafeBufferPointer { fv in
                for i in 0..<n {
                    let h = toks[i].hash
                    // phrases first, so that an exception starting here covers this token's word
                    let ph = toks[i].entry(.themeHead, else: phraseHeads.get(h))
                    if ph >= 0 && i + 1 < n && phraseSecond[Int(ph)].contains(toks[i + 1].hash) {
                        let maxLen = Int(phraseHeadMax[Int(ph)])
                        var key = h
                        var j = i + 1
                        while j < n && j - i < maxLen {
                            if toks[j - 1].has(Token.boundaryAfter) { break }
                            key = TermHash.combine(key, toks[j].hash)
                            let p = Int(phrases.get(key))
                            if p >= 0 {
                                let st = Int(flatPhrase[2 * p])
                                for q in st..<(st + Int(flatPhrase[2 * p + 1])) {
                                    let v = fv[q]
                                    if v >= 0 {
                                        mark(v)
                                    } else {
                                        vetoes.add(-v - 1, at: i, until: j + 1)
                                    }
                                }
                            }
                            j += 1
                        }
                    }
                    let w = Int(toks[i].entry(.themeWord, else: words.get(h)))
                    if w >= 0 {
                        let st = Int(flatWord[2 * w])
                        for q in st..<(st + Int(flatWord[2 * w + 1])) {
                            let v = fv[q]
                            if vetoes.cover(v, at: i) { continue }
                            mark(v)
                        }
                    }
                }
            }
            var lastExclusiveDim: Int32 = -1
            for w in 0..<hitWords {
                var bits = problem ? hit[w] : hit[w] & ~problemOnlyBits[w]
                while bits != 0 {
                    let v = w * 64 + bits.trailingZeroBitCount
                    bits &= bits - 1
                    let d = valueDimension[v]
                    if exclusive[Int(d)] {
                        if lastExclusiveDim == d { continue }
                        lastExclusiveDim = d
                    }
                    body(v)
                }
            }
        }
    }
}

/// The exception phrases in force while `ThemeTagger` walks a text: up to four values whose single words are
/// vetoed, each up to (not including) its own end token. A fifth at once takes the place of the one that ends first.
struct Vetoes {
    private var ids: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
    private var ends: (Int, Int, Int, Int) = (0, 0, 0, 0)
    /// The latest end of any: past it nothing is vetoed, the common case, tested first.
    private var last = 0

    /// Vetoes value `id`'s words from token `i` up to `end`.
    mutating func add(_ id: Int32, at i: Int, until end: Int) {
        last = max(last, end)
        if ids.0 == id && ends.0 > i {
            ends.0 = max(ends.0, end)
        } else if ids.1 == id && ends.1 > i {
            ends.1 = max(ends.1, end)
        } else if ids.2 == id && ends.2 > i {
            ends.2 = max(ends.2, end)
        } else if ids.3 == id && ends.3 > i {
            ends.3 = max(ends.3, end)
        } else {
            let first = min(min(ends.0, ends.1), min(ends.2, ends.3))
            if ends.0 == first {
                (ids.0, ends.0) = (id, end)
            } else if ends.1 == first {
                (ids.1, ends.1) = (id, end)
            } else if ends.2 == first {
                (ids.2, ends.2) = (id, end)
            } else {
                (ids.3, ends.3) = (id, end)
            }
        }
    }

    /// Whether value `v`'s word at token `i` lies inside one of its exceptions.
    @inline(__always)
    func cover(_ v: Int32, at i: Int) -> Bool {
        i < last
            && ((ids.0 == v && i < ends.0) || (ids.1 == v && i < ends.1) || (ids.2 == v && i < ends.2)
                || (ids.3 == v && i < ends.3))
    }
}
