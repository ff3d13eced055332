import CXCore
import Foundation

/// The sentiment lexicon: word, phrase and emoji valences plus VADER's modifier word lists.
///
/// Parsed once from the bundled data file (`Resources/sentiment_lexicon.tsv`) into hash tables keyed
/// by `TermHash`, so that scoring never allocates strings.
public struct SentimentLexicon: Sendable {
    struct WordInfo: Sendable {
        var valence: Float = 0
        var boost: Float = 0
        var flags: UInt8 = 0
        var special: UInt8 = 0
        var maxPhrase: UInt8 = 0
        /// What the first pass of `SentimentScorer.score` does with the word, derived from the fields above once the
        /// lexicon is built (`scanNegator`, `scanPositive`, `scanTextWide`): one test of a byte per word, in the
        /// padding the record had (it stays 16 bytes), instead of a test per special. Without it the enrichment path
        /// ran +0.045 us/event slower on one core (slower in 5 of 6 pairs, `bench/path-ab.sh`).
        var scan: UInt8 = 0
        /// A phrase head's second words, one bit each (`nextBit`): a head whose next token has no bit here starts
        /// no phrase there, and its probes of the phrase table are skipped ("the", a head, is a tenth of all words).
        var nextWords: UInt32 = 0
    }

    /// `WordInfo.scan`: the word marks its token a negation (a negator, or "no") ...
    static let scanNegator: UInt8 = 1
    /// ... or a positive lexicon word: these two bits are `Token.negator` and `Token.positive` shifted right by
    /// `scanShift`.
    static let scanPositive: UInt8 = 2
    static let scanShift: UInt16 = 12
    /// The word changes how the whole text is scored: "but", a sarcasm marker, "please".
    static let scanTextWide: UInt8 = 4

    /// The bit of `nextWords` that a second word of a phrase sets: the word's home in a table of 32.
    @inline(__always) static func nextBit(_ hash: UInt64) -> UInt32 {
        1 << UInt32(TermTable.home(hash, 59))
    }
    static let inLexicon: UInt8 = 1
    static let booster: UInt8 = 2
    static let negator: UInt8 = 4
    static let phraseHead: UInt8 = 8
    static let boosterBigramTail: UInt8 = 16
    /// Praise of a situation ("great", "helpful", "appreciated") that a "would" or "could" up to three words before
    /// it in its clause makes hypothetical: "that would be great", "any help would be appreciated".
    static let hypothetical: UInt8 = 32

    enum Special: UInt8 {
        case none = 0, no, but, least, at, very, never, so, this, without, doubt, kind, of, or, nor, sarcasm
        /// "would", "could" and their contractions; "were", "had" and the like, which make a wish counterfactual.
        case would, past
        case wish
        /// Thanks-words and "help": in a request they are its courtesy or its subject, not satisfaction.
        case courtesy
        case `for`
        /// "please": with it (or a question mark) a text is a request.
        case please
        /// "like", a verb only after its subject or an adverb ("I like", "really like"), and one of those.
        case like, liker
        /// A rating written as a number ("10/10", "1/5"), which is also how dates and fractions are written.
        case rating
    }

    var table = TermTable(minimumCapacity: 12_000)
    var words: [WordInfo] = []
    var phrases = TermTable(minimumCapacity: 512)
    var phraseValence: [Float] = []
    /// booster bigrams ("kind of"), keyed by combined hash
    var boosterBigrams = TermTable(minimumCapacity: 16)
    var boosterBigramValue: [Float] = []

    /// Version line of the data file (`# lexicon-version: ...`).
    public private(set) var version: String = "unknown"
    /// Number of single-word, emoji and phrase entries.
    public var entryCount: Int { table.count + phrases.count }

    static let boosterIncrement: Float = 0.293
    static let boosters: [(String, Float)] = {
        let inc = [
            "absolutely", "amazingly", "awfully", "completely", "considerable", "considerably", "decidedly",
            "deeply", "effing", "enormous", "enormously", "entirely", "especially", "exceptional", "exceptionally",
            "extreme", "extremely", "fabulously", "flipping", "flippin", "frackin", "fracking", "fricking", "frickin",
            "frigging", "friggin", "fully", "fuckin", "fucking", "fuggin", "fugging", "greatly", "hella", "highly",
            "hugely", "incredible", "incredibly", "intensely", "major", "majorly", "more", "most", "particularly",
            "purely", "quite", "really", "remarkably", "so", "substantially", "thoroughly", "total", "totally",
            "tremendous", "tremendously", "uber", "unbelievably", "unusually", "utter", "utterly", "very",
            "super", "soooo", "sooo", "soo", "realy", "rly", "veeery", "insanely", "ridiculously", "seriously", "truly",
            "pretty", "way",
        ]
        let dec = [
            "almost", "barely", "hardly", "kinda", "kindof", "kind-of", "less", "little", "marginal",
            "marginally", "occasional", "occasionally", "partly", "scarce", "scarcely", "slight", "slightly",
            "somewhat", "sorta", "sortof", "sort-of", "fairly", "rather", "mostly",
        ]
        return inc.map { ($0, boosterIncrement) } + dec.map { ($0, -boosterIncrement) }
    }()
    static let boosterPhrases: [(String, Float)] = [
        ("kind of", -boosterIncrement), ("sort of", -boosterIncrement), ("just enough", -boosterIncrement),
        ("a bit", -boosterIncrement), ("a little", -boosterIncrement), ("a lot", boosterIncrement),
    ]
    static let wouldWords = [
        "would", "could", "would've", "could've", "wouldve", "couldve", "it'd", "that'd", "i'd", "you'd", "we'd",
        "they'd", "itd", "thatd",
    ]
    /// The bare forms, which alone make the praise word before them their subject.
    static let wouldHash = TermHash.of(wouldWords[0])
    static let couldHash = TermHash.of(wouldWords[1])
    static let courtesyWords = [
        "thanks", "thank", "thx", "tx", "ty", "tks", "thanx", "thankyou", "thanku", "tysm", "help",
    ]
    /// Praise of a situation, not of the speaker's own feelings: "I would love to come back" and "I'd be happy to
    /// recommend" stay praise.
    static let hypotheticalWords = [
        "nice", "great", "good", "better", "best", "helpful", "appreciated", "appreciate", "awesome", "lovely",
        "wonderful", "cool", "fantastic", "perfect", "ideal", "amazing", "excellent", "useful", "fine", "like",
        "help", "grateful", "thankful", "easier", "faster", "sweet",
    ]
    /// Words after which "like" is the verb: its subject, or an adverb of it.
    static let likers = [
        "i", "we", "you", "they", "he", "she", "u", "ya", "y'all", "yall", "i'll", "we'll", "you'll", "they'll",
        "ill", "people", "everyone", "everybody", "kids", "who", "really", "totally", "definitely", "also", "truly",
        "just", "all", "do", "does", "much",
    ]
    static let thanksWords: Set<UInt64> = Set(courtesyWords.filter { $0 != "help" }.map { TermHash.of($0) })
    /// The ratings the lexicon rates (`Special.rating`).
    static let ratingWords =
        (0...11).map { "\($0)/10" } + (0...5).map { "\($0)/5" }
    /// Words that make the number after them a rating: "gave it a 10/10", "overall 7/10", "rated the meal 9/10".
    /// Not "is" or "a": "my booking was 10/10", "an appointment on 10/10" are dates.
    static let ratingCues: Set<UInt64> = Set(
        [
            "rate", "rated", "rating", "give", "gave", "giving", "given", "score", "scored", "solid", "overall",
            "honestly", "easy", "easily", "strong", "total", "definitely", "straight", "another",
        ].map { TermHash.of($0) })
    /// Whether token `j` is a "lack" that a negation right before it denies: "no lack of friendly staff", "doesn't
    /// lack charm" leave the praise after them standing.
    @inline(__always)
    static func lackDenied(_ toks: UnsafeMutableBufferPointer<Token>, _ j: Int) -> Bool {
        let h = toks[j].hash
        guard j > 0, h == lack.0 || h == lack.1 || h == lack.2 || h == lack.3 else { return false }
        // the scorer's first pass marked every negation (`Token.negator`) before any word is read for this
        return !toks[j - 1].has(Token.boundaryAfter) && toks[j - 1].has(Token.negator)
    }
    static let lack = (TermHash.of("lack"), TermHash.of("lacks"), TermHash.of("lacked"), TermHash.of("lacking"))

    /// Nouns after which "N out of 10" is a count, not a rating: "9 out of 10 times", "8 out of 10 flights". A
    /// singular noun after one is what it rates ("0 out of 10 service").
    static let ratingOutOfCounts: Set<UInt64> = ratingCounts.union(
        [
            "flights", "items", "calls", "things", "stores", "employees", "passengers", "users", "bags", "packages",
            "hours", "minutes", "cases", "americans", "doctors", "dentists", "reviews", "products", "kiosks",
            "machines", "agents", "trips",
        ].map { TermHash.of($0) })
    /// Words after which "will be back" is still the promise to return: "We'll be back for the short rib".
    static let backFollowers: Set<UInt64> = Set(
        [
            "for", "again", "soon", "next", "and", "here", "there", "definitely", "asap", "sometime", "someday", "many",
            "every",
        ].map {
            TermHash.of($0)
        })
    /// Words after which a rating-shaped number is a count: "9/10 times it works", "1/5 of the staff".
    static let ratingCounts: Set<UInt64> = Set(
        ["times", "of", "people", "customers", "staff", "days", "visits", "orders"].map { TermHash.of($0) })
    static let negations: [String] = [
        "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't", "can't",
        "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt",
        "neither", "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't", "neednt", "needn't",
        "never", "none", "nope", "nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt",
        "werent", "oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without", "wont", "wouldnt",
        "won't", "wouldn't", "rarely", "seldom", "despite", "nobody", "noone", "no-one", "aren’t", "wasnt", "isnt",
        "didnt", "doesnt", "dont", "havent", "hasnt", "wouldnt", "couldnt", "shouldnt",
        // what a thing lacks is praise it does not earn: "lacks charm", "lacking any warmth", "devoid of humour"
        "lack", "lacks", "lacked", "lacking", "devoid",
    ]

    /// Loads the lexicon bundled with the module.
    public static func bundled() throws -> SentimentLexicon {
        try SentimentLexicon(data: InsightResources.load("sentiment_lexicon", "tsv"))
    }

    /// Parses a lexicon in the data-file format (see the header of `sentiment_lexicon.tsv`).
    public init(data: [UInt8]) throws {
        var lineStart = 0
        let n = data.count
        var singles: [(UInt64, Float)] = []
        singles.reserveCapacity(8_500)
        var phraseList: [([UInt64], Float)] = []
        while lineStart < n {
            var lineEnd = lineStart
            while lineEnd < n && data[lineEnd] != 0x0A { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            var e = lineEnd
            if e > lineStart && data[e - 1] == 0x0D { e -= 1 }
            if e - lineStart < 2 { continue }
            if data[lineStart] == 0x23 && data[lineStart + 1] == 0x20 {
                let line = String(decoding: data[lineStart..<e], as: UTF8.self)
                if line.hasPrefix("# lexicon-version:") {
                    version = line.dropFirst("# lexicon-version:".count).trimmingCharacters(in: .whitespaces)
                }
                continue
            }
            if data[lineStart] == 0x40 && data[lineStart + 1] == 0x40 { continue }
            guard let tab = data[lineStart..<e].firstIndex(of: 0x09) else { continue }
            var ve = tab + 1
            while ve < e && data[ve] != 0x09 { ve += 1 }
            guard let v = Float(String(decoding: data[(tab + 1)..<ve], as: UTF8.self)) else { continue }
            let term = String(decoding: data[lineStart..<tab], as: UTF8.self)
            let scalars = term.unicodeScalars
            if scalars.count == 1, let s = scalars.first, s.value >= 0x80 {
                singles.append((TermHash.emoji(s.value), v))
            } else if term.contains(" ") {
                let parts = term.split(separator: " ").map { TermHash.of(String($0)) }
                // Any length a head's `maxPhrase` can hold: a limit of four words dropped the lexicon's five-word
                // entries ("could not have been better", "does not do the job") without a word.
                if parts.count >= 2 && parts.count <= Int(UInt8.max) { phraseList.append((parts, v)) }
            } else {
                singles.append((TermHash.of(term), v))
            }
        }
        for (h, v) in singles {
            let i = index(h)
            words[i].valence = v
            words[i].flags |= Self.inLexicon
        }
        for (parts, v) in phraseList {
            var key = parts[0]
            for p in parts.dropFirst() { key = TermHash.combine(key, p) }
            let pi = phrases.get(key)
            if pi >= 0 {
                phraseValence[Int(pi)] = v
            } else {
                phrases.set(key, Int32(phraseValence.count))
                phraseValence.append(v)
            }
            let hi = index(parts[0])
            words[hi].flags |= Self.phraseHead
            words[hi].maxPhrase = max(words[hi].maxPhrase, UInt8(parts.count))
            words[hi].nextWords |= Self.nextBit(parts[1])
        }
        for (w, b) in Self.boosters {
            let i = index(TermHash.of(w))
            words[i].flags |= Self.booster
            words[i].boost = b
        }
        for (p, b) in Self.boosterPhrases {
            let parts = p.split(separator: " ").map { TermHash.of(String($0)) }
            boosterBigrams.set(TermHash.combine(parts[0], parts[1]), Int32(boosterBigramValue.count))
            boosterBigramValue.append(b)
            let t = index(parts[1])
            words[t].flags |= Self.boosterBigramTail
        }
        for w in Self.negations { words[index(TermHash.of(w))].flags |= Self.negator }
        let specials: [(String, Special)] = [
            ("no", .no), ("but", .but), ("least", .least), ("at", .at), ("very", .very), ("never", .never),
            ("so", .so), ("this", .this), ("without", .without), ("doubt", .doubt), ("kind", .kind), ("of", .of),
            ("or", .or), ("nor", .nor), ("#sarcasm", .sarcasm), ("/s", .sarcasm), ("#not", .sarcasm),
            ("#sarcastic", .sarcasm), ("however", .but), ("such", .so), ("like", .like),
        ]
        let lists: [([String], Special)] = [
            (Self.wouldWords, .would), (["were", "was", "had", "did", "knew"], .past),
            (["wish", "wished", "wishing"], .wish), (Self.courtesyWords, .courtesy), (["for", "4"], .for),
            (["please", "pls", "plz", "plse"], .please), (Self.likers, .liker), (Self.ratingWords, .rating),
        ]
        for (w, s) in specials + lists.flatMap({ list, s in list.map { ($0, s) } }) {
            let i = index(TermHash.of(w))
            // A word holds one special: a second would silently take the first one's place.
            precondition(words[i].special == 0, "\(w) has two specials")
            words[i].special = s.rawValue
        }
        for w in Self.hypotheticalWords { words[index(TermHash.of(w))].flags |= Self.hypothetical }
        precondition(
            Token.negator == UInt16(Self.scanNegator) << Self.scanShift
                && Token.positive == UInt16(Self.scanPositive) << Self.scanShift)
        for i in words.indices {
            let w = words[i]
            var scan: UInt8 = 0
            if w.flags & Self.negator != 0 || w.special == Special.no.rawValue { scan |= Self.scanNegator }
            if w.flags & Self.inLexicon != 0 && w.valence > 0 { scan |= Self.scanPositive }
            if w.special == Special.but.rawValue || w.special == Special.sarcasm.rawValue
                || w.special == Special.please.rawValue
            {
                scan |= Self.scanTextWide
            }
            words[i].scan = scan
        }
    }

    private mutating func index(_ h: UInt64) -> Int {
        let i = table.get(h)
        if i >= 0 { return Int(i) }
        table.set(h, Int32(words.count))
        words.append(WordInfo())
        return words.count - 1
    }

    @inline(__always)
    func lookup(_ t: Token) -> Int32 {
        if t.flags & Token.mention != 0 { return -1 }
        if t.altHash != 0 {
            let a = table.get(t.altHash)
            if a >= 0 && (words[Int(a)].flags & (Self.inLexicon | Self.phraseHead) != 0 || words[Int(a)].special != 0) {
                return a
            }
        }
        return t.entry(.lexicon, else: table.get(t.hash))
    }

    /// Valence of a single word or emoji as stored (nil when absent); for tests and tooling.
    public func valence(of term: String) -> Double? {
        let s = term.unicodeScalars
        let h = (s.count == 1 && s.first!.value >= 0x80) ? TermHash.emoji(s.first!.value) : TermHash.of(term)
        let i = table.get(h)
        guard i >= 0, words[Int(i)].flags & Self.inLexicon != 0 else { return nil }
        return Double(words[Int(i)].valence)
    }
}

/// VADER-style sentiment scoring on pre-tokenised text.
///
/// Follows Hutto & Gilbert (2014): lexicon valences adjusted by boosters and dampeners (scaled by
/// distance), negation in a three-word window, ALL-CAPS emphasis when only some words are capitalised,
/// the contrastive "but", "least", exclamation and question marks; normalised by x/sqrt(x²+15).
/// Departures from the reference implementation, all for customer text: multi-word phrases and idioms
/// are matched (the reference ignores most of its own multi-word entries), negation and modifiers do
/// not cross a clause boundary (", . ! ? ; :"), curly apostrophes are folded, hashtags and emoticons
/// are looked up with their punctuation, and sarcasm markers (#sarcasm, /s) invert positive valence.
struct SentimentScorer: Sendable {
    let lexicon: SentimentLexicon
    static let capIncrement: Float = 0.733
    static let negationScalar: Float = -0.74
    static let questionDampener: Float = 0.5

    struct Scored {
        var sentiment: Enrichment.Sentiment
        var rawSum: Float
        /// index of the token with the most negative and the most positive final valence (-1 if none)
        var mostNegative: Int
        var mostPositive: Int
        // parts, so that a prior can be added without re-scoring
        var baseSum: Float = 0
        var posSum: Float = 0
        var negSum: Float = 0
        var neutral: Int = 0
        var amplifier: Float = 0
        /// words found in the (English) lexicon, evidence for language identification
        var lexiconHits = 0
    }

    /// Adds `prior` (VADER scale) to a score as if one more word of that valence had been read.
    func withPrior(_ s: Scored, _ prior: Float) -> Scored {
        var pos = s.posSum
        var neg = s.negSum
        if prior < 0 { neg += prior - 1 } else if prior > 0 { pos += prior + 1 }
        var r = Self.finalize(s.baseSum + prior, pos, neg, s.neutral, s.amplifier)
        r.mostNegative = s.mostNegative
        r.mostPositive = s.mostPositive
        r.lexiconHits = s.lexiconHits
        return r
    }

    /// A positive word's valence where customer-service language states no satisfaction: praise of a situation
    /// under "would" or "could" up to three words back in its clause, or as the subject of a bare "would" or "could"
    /// ("that would be great", "any help would be appreciated"; not "excellent, we'd come again") is
    /// hypothetical (0); praise in a counterfactual wish ("I wish the staff were friendlier", not "wish you all the
    /// best") states its lack (negated); a thanks or "help" in a request ("can you rebook me? thanks"), unless a
    /// "for" follows it ("thanks for the help"), is courtesy (0), and so is "please"; "like" praises only as a verb
    /// after its subject or an adverb.
    @inline(__always)
    private func irrealis(
        _ v: Float, _ w: SentimentLexicon.WordInfo, _ i: Int, _ lo: Int, _ request: Bool,
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ special: (Int) -> UInt8
    ) -> Float {
        typealias S = SentimentLexicon.Special
        // "please" only asks
        if w.special == S.please.rawValue { return 0 }
        // "like" as a preposition or a filler ("the potatoes were like rubber", "like 5 strings of pasta")
        if w.special == S.like.rawValue {
            guard (max(lo, i - 2)..<i).contains(where: { special($0) == S.liker.rawValue }) else { return 0 }
        }
        if w.flags & SentimentLexicon.hypothetical != 0 {
            for j in lo..<i where special(j) == S.would.rawValue { return 0 }
            // or the subject of one: "any help would be appreciated" (the next word only: "better than you'd expect"
            // and "pretty cool I would say" are praise)
            if i + 1 < n && !toks[i].has(Token.boundaryAfter)
                && (toks[i + 1].hash == SentimentLexicon.wouldHash || toks[i + 1].hash == SentimentLexicon.couldHash)
            {
                return 0
            }
        }
        // a wish up to six words back in the clause, with a verb of its own before the word
        var j = i - 1
        var verb = false
        while j >= 0 && i - j <= 6 && !toks[j].has(Token.boundaryAfter) {
            let sp = special(j)
            if sp == S.past.rawValue || sp == S.would.rawValue { verb = true }
            if sp == S.wish.rawValue { return verb ? v * Self.negationScalar : v }
            j -= 1
        }
        if request && w.special == S.courtesy.rawValue {
            var k = i + 1
            while k < n && k - i <= 4 && !toks[k - 1].has(Token.boundaryAfter) {
                if special(k) == S.for.rawValue { return v }
                k += 1
            }
            return 0
        }
        return v
    }

    /// Whether the rating-shaped number at `i` is a rating: it opens a sentence, or a rating cue comes within three
    /// words before it in its clause; and no count's noun ("9/10 times"), time ("10/10 14:02") or "would not" (the
    /// joke "10/10 would not recommend", whose "would not" then counts) follows it.
    static func isRating(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ i: Int) -> Bool {
        if i + 1 < n && !toks[i].has(Token.boundaryAfter) {
            let next = toks[i + 1]
            if next.has(Token.hasDigit) || SentimentLexicon.ratingCounts.contains(next.hash) { return false }
            if next.hash == SentimentLexicon.wouldHash && i + 2 < n
                && (toks[i + 2].has(Token.negContraction)
                    || toks[i + 2].hash == TermHash.not)
            {
                return false
            }
            if next.hash == TermHash.wouldnt { return false }
        }
        if toks[i].has(Token.sentenceStart) { return true }
        var j = i - 1
        while j >= 0 && j >= i - 3 && !toks[j].has(Token.boundaryAfter) {
            if SentimentLexicon.ratingCues.contains(toks[j].hash) { return true }
            j -= 1
        }
        return false
    }

    /// Whether the praise word at `i` names what its question asks for, right after "a", "the", "any" or "some" in a
    /// sentence that ends with "?" and opens with a question word: "What's a good laptop under $800?", "Anyone know
    /// a good plumber?", "what's the best way to reach you?", "Is the food any good?".
    static func asksFor(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ i: Int) -> Bool {
        // the determiner before the word, or the head of a phrase that holds it ("the best")
        let d = askDeterminers.contains(toks[i].hash) ? i : i - 1
        guard d >= 0, d == i || (!toks[d].has(Token.boundaryAfter) && askDeterminers.contains(toks[d].hash)) else {
            return false
        }
        var e = i
        while e < n - 1 && !toks[e].has(Token.sentenceEnd) { e += 1 }
        guard toks[e].has(Token.question) else { return false }
        var s = d
        while s > 0 && !toks[s - 1].has(Token.sentenceEnd) { s -= 1 }
        while s < d && (toks[s].has(Token.mention) || IntentDetector.greetings.contains(toks[s].hash)) { s += 1 }
        // the determiner may open the question itself ("Any chance you could rebook me?"), not a phrase's head
        return (s < d || d == i - 1) && askOpeners.contains(toks[s].hash)
    }
    static let askDeterminers: Set<UInt64> = Set(["a", "an", "the", "any", "some"].map { TermHash.of($0) })
    static let askOpeners: Set<UInt64> = Set(
        [
            "what", "whats", "what's", "which", "where", "wheres", "where's", "who", "whos", "who's", "how", "hows",
            "how's", "anyone", "anybody", "any", "does", "do", "is", "are", "can", "could", "know", "recommend",
            "should", "wat", "wht",
        ].map { TermHash.of($0) })

    /// Whether the negation at `j` declines more before a thanks ("No, nothing else thanks"): it negates the "else",
    /// not the thanks. ("nothing else was good" still negates "good", "nobody else can help" still negates "help".)
    @inline(__always)
    static func declinesMore(_ toks: UnsafeMutableBufferPointer<Token>, _ j: Int, _ i: Int) -> Bool {
        toks[j + 1].hash == TermHash.else && SentimentLexicon.thanksWords.contains(toks[i].hash)
    }

    static func finalize(_ base: Float, _ pos0: Float, _ neg0: Float, _ neu: Int, _ amp: Float) -> Scored {
        var sum = base
        var posSum = pos0
        var negSum = neg0
        if sum > 0 { sum += amp } else if sum < 0 { sum -= amp }
        if posSum == 0 && negSum == 0 && neu == 0 {
            return Scored(
                sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0), rawSum: 0, mostNegative: -1,
                mostPositive: -1)
        }
        let compound = Double(sum) / (Double(sum) * Double(sum) + 15).squareRoot()
        if posSum > -negSum { posSum += amp } else if posSum < -negSum { negSum -= amp }
        let total = Double(posSum) - Double(negSum) + Double(neu)
        // `+ 0` turns a negative zero (no negative words: -0.0 / total) into zero: "-0" read oddly in `analyze`
        // output, and a stored -0.0 took 5 bytes where a zero takes none (30% of the workload's events).
        let s = Enrichment.Sentiment(
            compound: (max(-1, min(1, compound)) * 10_000).rounded() / 10_000 + 0,
            positive: (Double(posSum) / total * 1000).rounded() / 1000 + 0,
            neutral: (Double(neu) / total * 1000).rounded() / 1000 + 0,
            negative: (-Double(negSum) / total * 1000).rounded() / 1000 + 0)
        return Scored(
            sentiment: s, rawSum: sum, mostNegative: -1, mostPositive: -1, baseSum: base, posSum: pos0, negSum: neg0,
            neutral: neu, amplifier: amp)
    }

    /// The longest lexicon phrase that starts at token `i` (whose word is `w`), within its clause: its length in
    /// tokens and its valence; (0, 0) when none does.
    @inline(__always)
    private func longestPhrase(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, at i: Int, _ w: SentimentLexicon.WordInfo
    ) -> (length: Int, valence: Float) {
        guard i + 1 < n && w.nextWords & SentimentLexicon.nextBit(toks[i + 1].hash) != 0 else { return (0, 0) }
        var key = toks[i].hash
        var best: Float = 0
        var bestLen = 0
        var j = i + 1
        while j < n && j - i < Int(w.maxPhrase) {
            if toks[j - 1].has(Token.boundaryAfter) { break }
            key = TermHash.combine(key, toks[j].hash)
            let p = lexicon.phrases.get(key)
            if p >= 0 {
                best = lexicon.phraseValence[Int(p)]
                bestLen = j - i + 1
            }
            j += 1
        }
        if bestLen > 0 && i + bestLen < n && !toks[i + bestLen - 1].has(Token.boundaryAfter) {
            let next = toks[i + bestLen].hash
            // "9 out of 10" before a counted noun counts ("9 out of 10 times", "8 out of 10 flights were late")
            if toks[i].has(Token.number) && toks[i + 1].hash == TermHash.out
                && SentimentLexicon.ratingOutOfCounts.contains(next)
            {
                return (0, 0)
            }
            // coming back is praise at a clause end or before "for", "again", "soon"; before anything else it is an
            // errand ("I'll be back to return it", "my car will be back by 5")
            if best > 0 && toks[i + bestLen - 1].hash == TermHash.back && !SentimentLexicon.backFollowers.contains(next)
            {
                return (0, 0)
            }
            // wonder at what follows is no praise of it: "never ceases to amaze me how bad this airline is"
            if best > 0
                && (next == TermHash.how
                    || (next == TermHash.me && i + bestLen + 1 < n && toks[i + bestLen + 1].hash == TermHash.how))
            {
                return (0, 0)
            }
        }
        return (bestLen, best)
    }

    /// The tokens the word or lexicon phrase at token `i` covers, as the intent its score sets names them: the whole
    /// phrase ("won't be back", "to die for"), and for a praise word or phrase that scored `negative` the negation
    /// before it in its clause ("weren't to die for", "no hidden gem"), which turned it.
    func extent(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, at i: Int, negative: Bool) -> Range<Int> {
        let k = lexicon.lookup(toks[i])
        guard k >= 0 else { return i..<(i + 1) }
        let w = lexicon.words[Int(k)]
        var length = 1
        var valence = w.valence
        if w.flags & SentimentLexicon.phraseHead != 0 {
            let phrase = longestPhrase(toks, n, at: i, w)
            if phrase.length > 0 { (length, valence) = phrase }
        }
        var start = i
        if negative && valence > 0 {
            var j = i - 1
            while j >= 0 && i - j <= 3 && !toks[j].has(Token.boundaryAfter) {
                if toks[j].has(Token.negator) {
                    start = j
                    break
                }
                j -= 1
            }
        }
        return start..<(i + length)
    }

    /// Scores tokens `0..<n`. The positive words of `irony` are read as irony, as a sarcasm marker's are in the
    /// whole text: the intents tell it (`Irony`), after a first scoring.
    func score(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ stats: TextStats, extraValence: Float = 0,
        irony: Range<Int> = 0..<0
    ) -> Scored {
        if n == 0 {
            return Scored(
                sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0), rawSum: 0, mostNegative: -1,
                mostPositive: -1)
        }
        // The entries, then the positions of the words the second pass visits.
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * n) { entries in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { sent in
                withUnsafeTemporaryAllocation(of: UInt16.self, capacity: n) { wordBits in
                    scoreInner(
                        toks, n, stats, UnsafeMutableBufferPointer(rebasing: entries[0..<n]),
                        UnsafeMutableBufferPointer(rebasing: entries[n..<(2 * n)]), sent, wordBits, extraValence,
                        irony)
                }
            }
        }
    }

    @inline(__always)
    private func scoreInner(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ stats: TextStats,
        _ idx: UnsafeMutableBufferPointer<Int32>, _ rated: UnsafeMutableBufferPointer<Int32>,
        _ sent: UnsafeMutableBufferPointer<Float>, _ wordBits: UnsafeMutableBufferPointer<UInt16>,
        _ extraValence: Float, _ irony: Range<Int>
    ) -> Scored {
        let words = lexicon.words
        return words.withUnsafeBufferPointer { W in
            var upperCount = 0
            var lexHits = 0
            var butIndex = -1
            var sarcasm = false
            // whether a negation or "zero" came: only then can a problem be denied
            var mayDeny = false
            // a question, or "please": a request, whose thanks are courtesy
            var request = stats.questions > 0
            // The words that can be scored (rated or a phrase head), in order, at most one per token (`rated` holds
            // n): the second pass visits only these instead of every token, most of which are neither (0.15 us of
            // 3.4 per event on the enrichment path).
            var ratedCount = 0
            for i in 0..<n {
                let t = toks[i]
                let k = lexicon.lookup(t)
                idx[i] = k
                sent[i] = 0
                if t.has(Token.upper) { upperCount &+= 1 }
                var marks = t.flags & Token.negContraction != 0 ? Token.negator : 0
                var bits: UInt16 = 0
                if k >= 0 {
                    let w = W[Int(k)]
                    bits = UInt16(w.special) << 8 | UInt16(w.flags)
                    if w.flags & SentimentLexicon.inLexicon != 0 && t.has(Token.letters) { lexHits &+= 1 }
                    if w.scan & SentimentLexicon.scanTextWide != 0 {
                        let sp = w.special
                        // "nothing but praise" means only praise: that "but" contrasts nothing
                        if sp == SentimentLexicon.Special.but.rawValue && butIndex < 0
                            && !(i > 0 && toks[i - 1].hash == TermHash.nothing)
                        {
                            butIndex = i
                        }
                        if sp == SentimentLexicon.Special.sarcasm.rawValue { sarcasm = true }
                        if sp == SentimentLexicon.Special.please.rawValue { request = true }
                    }
                    let tokenMarks = w.scan & (SentimentLexicon.scanNegator | SentimentLexicon.scanPositive)
                    marks |= UInt16(tokenMarks) << SentimentLexicon.scanShift
                    if w.flags & (SentimentLexicon.inLexicon | SentimentLexicon.phraseHead) != 0 {
                        rated[ratedCount] = Int32(truncatingIfNeeded: i)
                        ratedCount &+= 1
                    }
                }
                wordBits[i] = bits
                toks[i].flags = t.flags & ~(Token.negator | Token.positive | Token.praisePhrase) | marks
                if ProblemDenial.negates(toks[i]) { mayDeny = true }
            }
            let capDiff = upperCount > 0 && upperCount < n
            // A word's special and flags side by side per token: the look-backs read them for up to three
            // neighbours of every rated word, instead of each neighbour's lexicon record.
            @inline(__always) func special(_ j: Int) -> UInt8 { UInt8(truncatingIfNeeded: wordBits[j] >> 8) }
            @inline(__always) func flagsOf(_ j: Int) -> UInt8 { UInt8(truncatingIfNeeded: wordBits[j]) }
            @inline(__always) func negated(_ j: Int) -> Bool {
                (toks[j].has(Token.negContraction) || flagsOf(j) & SentimentLexicon.negator != 0)
                    && !SentimentLexicon.lackDenied(toks, j)
            }
            /// A denied lack between a negation and the word: "doesn't lack great features" praises them.
            func lackBetween(_ j: Int, _ i: Int) -> Bool {
                var k = j + 1
                while k < i {
                    if SentimentLexicon.lackDenied(toks, k) { return true }
                    k += 1
                }
                return false
            }
            @inline(__always) func inLex(_ j: Int) -> Bool { flagsOf(j) & SentimentLexicon.inLexicon != 0 }

            // The sums of the valences, the strongest of each sign, and how many are not zero, in token order.
            var sum: Float = extraValence
            var posSum: Float = 0
            var negSum: Float = 0
            var nonzero = 0
            var mostNeg = -1
            var mostPos = -1
            var minV: Float = 0
            var maxV: Float = 0
            @inline(__always) func add(_ s: Float, _ j: Int) {
                sum += s
                nonzero += 1
                if s > 0 {
                    posSum += s + 1
                    if s > maxV { maxV = s; mostPos = j }
                } else {
                    negSum += s - 1
                    if s < minV { minV = s; mostNeg = j }
                }
            }
            // Without a question, a "but" or a sarcasm marker (most texts) nothing rescales a valence once it is
            // scored: it is added as it comes, in the same order, instead of in a pass of its own afterwards.
            let direct = stats.questions == 0 && butIndex < 0 && !sarcasm && irony.isEmpty
            var skipUntil = -1
            // the tokens inside a phrase after its first word, which are not counted as words of their own
            var phraseTails = 0
            var next = 0
            while next < ratedCount {
                let i = Int(rated[next])
                next &+= 1
                if i < skipUntil { continue }
                let w = W[Int(idx[i])]
                if w.special == SentimentLexicon.Special.kind.rawValue && i + 1 < n
                    && special(i + 1) == SentimentLexicon.Special.of.rawValue
                {
                    continue
                }
                var v: Float = 0
                var found = false
                var phraseLen = 1
                if w.flags & SentimentLexicon.phraseHead != 0 {
                    let (bestLen, best) = longestPhrase(toks, n, at: i, w)
                    if bestLen > 0 {
                        v = best
                        found = true
                        phraseLen = bestLen
                        skipUntil = i + bestLen
                        phraseTails += bestLen - 1
                    }
                }
                // A booster that is also rated ("super", "incredible") is scored where it boosts nothing: it ends its
                // clause ("the staff were incredible!"). VADER skips every booster, so those praises scored 0. A
                // phrase a booster opens ("fairly priced", "more than made up for") is scored as the phrase.
                if !found && w.flags & SentimentLexicon.booster != 0
                    && (w.flags & SentimentLexicon.inLexicon == 0 || (i + 1 < n && !toks[i].has(Token.boundaryAfter)))
                {
                    continue
                }
                if !found {
                    guard w.flags & SentimentLexicon.inLexicon != 0 else { continue }
                    // a number shaped as a rating is one only where a rating is written (`isRating`); else it is
                    // a date, a fraction or a count: "arrived 10/10 broken", "9/10 times it works"
                    if w.special == SentimentLexicon.Special.rating.rawValue && !Self.isRating(toks, n, i) { continue }
                    v = w.valence
                    // A stretched praise word that opens a clause with more text after it is mostly sarcasm:
                    // "Perfecttt, my order is late again", "Wowww. Waited 2 hours", "Loveeee waiting 2 hours 🙃".
                    // Read as the word, it turned such complaints into praise; unread, as before 1.16, it scores
                    // nothing. Alone or inside a clause it is praise ("Yummmmy!", "I loooove it").
                    if v > 0 && toks[i].has(Token.stretched) && i + 1 < n
                        && (i == 0 || toks[i - 1].has(Token.boundaryAfter))
                    {
                        continue
                    }
                    // "no" directly before a lexicon word negates it rather than counting itself
                    if w.special == SentimentLexicon.Special.no.rawValue && i + 1 < n
                        && !toks[i].has(Token.boundaryAfter)
                        && inLex(i + 1)
                    {
                        v = 0
                    }
                }
                // praise of what a question asks for is no praise: "What's a good laptop under $800?"
                if v > 0 && stats.questions > 0 && Self.asksFor(toks, n, i) { continue }
                let base = v
                // clause start: modifiers and negations do not reach across punctuation
                var lo = i
                while lo > 0 && lo > i - 3 && !toks[lo - 1].has(Token.boundaryAfter) { lo -= 1 }
                let noSp = SentimentLexicon.Special.no.rawValue
                if (i - 1 >= lo && special(i - 1) == noSp) || (i - 2 >= lo && special(i - 2) == noSp)
                    || (i - 3 >= lo && special(i - 3) == noSp
                        && (special(i - 1) == SentimentLexicon.Special.or.rawValue
                            || special(i - 1) == SentimentLexicon.Special.nor.rawValue))
                {
                    v = base * Self.negationScalar
                }
                if toks[i].has(Token.upper) && capDiff && phraseLen == 1 {
                    v += v > 0 ? Self.capIncrement : -Self.capIncrement
                }
                var startI = 0
                while startI < 3 {
                    let j = i - (startI + 1)
                    if j < lo { break }
                    // a rated word modifies the next ones only as a booster or a negation ("lacks charm", "nobody
                    // helpful"): VADER reads neither through a rated word
                    if !inLex(j) || flagsOf(j) & (SentimentLexicon.booster | SentimentLexicon.negator) != 0 {
                        // booster / dampener
                        var s: Float = 0
                        let fj = flagsOf(j)
                        if fj & SentimentLexicon.booster != 0 {
                            s = W[Int(idx[j])].boost
                        } else if fj & SentimentLexicon.boosterBigramTail != 0 && j - 1 >= 0 {
                            let bk = lexicon.boosterBigrams.get(TermHash.combine(toks[j - 1].hash, toks[j].hash))
                            if bk >= 0 { s = lexicon.boosterBigramValue[Int(bk)] }
                        }
                        if s != 0 {
                            if v < 0 { s = -s }
                            if toks[j].has(Token.upper) && capDiff {
                                s += v > 0 ? Self.capIncrement : -Self.capIncrement
                            }
                            if startI == 1 { s *= 0.95 } else if startI == 2 { s *= 0.9 }
                            v += s
                        }
                        // negation
                        if startI == 0 {
                            if negated(j) { v *= Self.negationScalar }
                        } else if startI == 1 {
                            let sp1 = special(i - 1)
                            if special(i - 2) == SentimentLexicon.Special.never.rawValue
                                && (sp1 == SentimentLexicon.Special.so.rawValue
                                    || sp1 == SentimentLexicon.Special.this.rawValue)
                            {
                                v *= 1.25
                            } else if special(i - 2) == SentimentLexicon.Special.without.rawValue
                                && sp1 == SentimentLexicon.Special.doubt.rawValue
                            {
                            } else if negated(j) && !Self.declinesMore(toks, j, i) && !lackBetween(j, i) {
                                v *= Self.negationScalar
                            }
                        } else {
                            let sp2 = special(i - 2)
                            let sp1 = special(i - 1)
                            // "never so / this / such" intensifies, also with a verb between: "never had such
                            // awful service" is worse service, not better
                            if special(i - 3) == SentimentLexicon.Special.never.rawValue
                                && (sp2 == SentimentLexicon.Special.so.rawValue
                                    || sp2 == SentimentLexicon.Special.this.rawValue
                                    || sp1 == SentimentLexicon.Special.so.rawValue)
                            {
                                v *= 1.25
                            } else if special(i - 3) == SentimentLexicon.Special.without.rawValue
                                && (sp2 == SentimentLexicon.Special.doubt.rawValue
                                    || special(i - 1) == SentimentLexicon.Special.doubt.rawValue)
                            {
                            } else if negated(j) && !Self.declinesMore(toks, j, i) && !lackBetween(j, i) {
                                v *= Self.negationScalar
                            }
                        }
                    }
                    startI += 1
                }
                // "least"
                let leastSp = SentimentLexicon.Special.least.rawValue
                if i - 1 >= lo && special(i - 1) == leastSp && !inLex(i - 1) {
                    if i - 2 < 0
                        || (special(i - 2) != SentimentLexicon.Special.at.rawValue
                            && special(i - 2) != SentimentLexicon.Special.very.rawValue)
                    {
                        v *= Self.negationScalar
                    }
                }
                // a problem denied from further back than the window above ("never had any large problems")
                if v < 0 && base < 0 && mayDeny && ProblemDenial.isDenied(toks, n, at: i) { v *= Self.negationScalar }
                // (a phrase only when it is a thanks: "can you rebook me? thanks a lot")
                if v > 0 && (phraseLen == 1 || w.special == SentimentLexicon.Special.courtesy.rawValue) {
                    v = irrealis(v, w, i, lo, request, toks, n, special)
                }
                sent[i] = v
                // A praise phrase that stays praise, with no contrast after it, is no complaint cue: "can't go
                // wrong" has a negation and "wrong"; "not bad at all, but the screen cracked" keeps its cues.
                if phraseLen > 1 && v > 0 && !Irony.contrastFollows(toks, n, from: i + phraseLen) {
                    for k in i..<(i + phraseLen) { toks[k].flags |= Token.praisePhrase }
                }
                if direct && v != 0 { add(v, i) }
            }
            // Positive words inside a question mostly ask ("is it on time?", "any good deals?") rather than praise;
            // negative ones still complain ("why is it so slow?").
            if stats.questions > 0 {
                var inQuestion = false
                var j = n - 1
                while j >= 0 {
                    if toks[j].has(Token.sentenceEnd) { inQuestion = toks[j].has(Token.question) }
                    if inQuestion && sent[j] > 0 { sent[j] *= Self.questionDampener }
                    j -= 1
                }
            }
            // contrastive "but": what follows dominates
            if butIndex >= 0 {
                for j in 0..<n {
                    if j < butIndex { sent[j] *= 0.5 } else if j > butIndex { sent[j] *= 1.5 }
                }
            }
            // a sarcasm marker turns the whole text; irony (`Irony`) the praise that frames a problem
            for j in (sarcasm ? 0..<n : irony.clamped(to: 0..<n)) where sent[j] > 0 { sent[j] = -sent[j] * 0.5 }
            if !direct {
                for j in 0..<n where sent[j] != 0 { add(sent[j], j) }
            }
            var neu = n - phraseTails - nonzero
            if extraValence < 0 { negSum += extraValence - 1 } else if extraValence > 0 { posSum += extraValence + 1 }
            if neu < 0 { neu = 0 }
            let ep = Float(min(stats.exclamations, 4)) * 0.292
            let q = stats.questions
            let qm: Float = q > 1 ? (q <= 3 ? Float(q) * 0.18 : 0.96) : 0
            var r = Self.finalize(sum, posSum, negSum, neu, ep + qm)
            r.mostNegative = mostNeg
            r.mostPositive = mostPos
            r.lexiconHits = lexHits
            return r
        }
    }
}
