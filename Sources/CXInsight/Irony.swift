/// Praise said in irony: a praise word set against the problem its sentence goes on to state ("Great, another
/// cancelled flight", "Love how nobody answers the phone", "Thanks for losing my bag", "Nice job losing my
/// luggage"). Riloff et al. (2013) found this shape, positive sentiment before a negative situation, in most
/// sarcastic tweets; read word by word it turns a complaint into praise.
///
/// Only the frames that are rarely sincere count: a praise word alone at the start of a clause, "love how / when /
/// waiting", "gotta love", "glad I" right before the problem, "nice job" right before it, a thanks for the problem
/// itself, and a closing ", NOT". A contrast between the praise and the problem ("great food but a long wait") makes
/// a mixed review, and a problem put right ("Great! They replaced my damaged item") makes thanks.
enum Irony {
    /// What a word can be in a frame; a word may be several ("so" leads an opener, "have" obliges and qualifies).
    struct Role: OptionSet {
        let rawValue: Int32
        /// Opens a sarcastic clause alone: "Great, ...", "Oh perfect. ...".
        static let opener = Role(rawValue: 1 << 0)
        /// May come before an opener: "Oh great", "Just perfect".
        static let lead = Role(rawValue: 1 << 1)
        static let lover = Role(rawValue: 1 << 2)
        /// Follows "love" in its ironic uses: "love how", "love when", "love waiting", "love being put on hold".
        static let loveFrame = Role(rawValue: 1 << 3)
        /// "gotta love".
        static let gotta = Role(rawValue: 1 << 4)
        /// Before "to love": "got to love", "have to love" (not "used to love").
        static let obliged = Role(rawValue: 1 << 5)
        static let thanks = Role(rawValue: 1 << 6)
        /// Between praise and a problem it makes a mixed review.
        static let contrast = Role(rawValue: 1 << 7)
        /// A problem stated with its remedy is thanks.
        static let remedy = Role(rawValue: 1 << 8)
        /// "nice job", "great work".
        static let job = Role(rawValue: 1 << 9)
        static let pleased = Role(rawValue: 1 << 10)
        /// "glad I", "happy we".
        static let speaker = Role(rawValue: 1 << 11)
        /// Between the speaker and the problem: "glad I just waited", "glad we got stuck".
        static let adverb = Role(rawValue: 1 << 12)
        /// "love it when / how / that".
        static let clauseWord = Role(rawValue: 1 << 13)
        static let it = Role(rawValue: 1 << 14)
        /// Opens the clause after "love how / when / that": "love how nobody answers", "love when the app crashes".
        static let subject = Role(rawValue: 1 << 15)
        /// After the problem, news that it went away: "the missing parcel just arrived".
        static let goodNews = Role(rawValue: 1 << 16)
        /// Between "thanks for" and the problem: "thanks for the delay", "thanks for another cancelled flight".
        static let determiner = Role(rawValue: 1 << 17)
    }

    /// Every frame word's roles, one probe per token (a `Set` per role hashed each word with SipHash several times).
    static let roles: TermTable = {
        let lists: [(Role, [String])] = [
            (
                .opener,
                [
                    "great", "awesome", "perfect", "wonderful", "fantastic", "brilliant", "lovely", "nice", "excellent",
                    "super", "cool", "yay", "amazing", "terrific", "splendid", "fabulous", "marvelous", "marvellous",
                    "sweet", "fab", "excelent", "wonderfull", "superb", "outstanding", "stellar", "grand", "fun",
                ]
            ),
            (
                .lead,
                [
                    "oh", "just", "yeah", "yea", "well", "wow", "so", "really", "how", "ah", "ahh", "ooh", "simply",
                    "absolutely",
                ]
            ),
            (.lover, ["love", "loving", "loves", "adore", "enjoy", "enjoying", "enjoyed"]),
            (
                .loveFrame,
                [
                    "how", "when", "that", "waiting", "being", "sitting", "standing", "getting", "paying", "spending",
                    "having", "queuing", "queueing",
                ]
            ),
            (.gotta, ["gotta", "gota", "gots"]),
            (.obliged, ["got", "have", "gotta"]),
            (.thanks, ["thanks", "thank", "thx", "cheers", "thankyou", "ty", "tysm", "thnx", "thanx"]),
            (
                .contrast,
                [
                    "but", "though", "although", "however", "except", "despite", "yet", "tho", "otherwise", "whereas",
                    "while",
                ]
            ),
            (
                .remedy,
                [
                    "replaced", "replacing", "replacement", "refunded", "fixed", "fixing", "sorted", "resolved",
                    "solved", "helped", "helping", "finally", "exchanged", "rebooked", "compensated", "apologised",
                    "apologized", "rescued", "handled", "dealt", "comped", "covered", "refunding",
                ]
            ),
            (.job, ["job", "work", "going"]),
            (.pleased, ["glad", "happy", "thrilled", "delighted", "pleased", "excited"]),
            (.speaker, ["i", "we", "i've", "we've", "ive"]),
            (.adverb, ["just", "really", "only", "got", "have", "had"]),
            (.clauseWord, ["when", "how", "that"]),
            (.it, ["it"]),
            (.determiner, ["the", "a", "an", "another", "my", "our", "this", "that", "all", "yet"]),
            (
                .subject,
                [
                    "the", "my", "our", "your", "you", "they", "nobody", "no", "noone", "everyone", "every", "it",
                    "i", "we", "there", "this", "these", "their", "his", "her", "u", "ur", "someone", "somebody",
                    "nothing", "none", "people", "airlines", "stores", "companies", "he", "she", "its", "it's",
                ]
            ),
            (
                .goodNews,
                [
                    "arrived", "delivered", "found", "turned", "showed", "returned", "reimbursed", "credited", "waived",
                    "upgraded", "picked", "swapped",
                ]
            ),
        ]
        var t = TermTable(minimumCapacity: 160)
        for (role, words) in lists {
            for w in words {
                let h = TermHash.of(w)
                t.set(h, max(t.get(h), 0) | role.rawValue)
            }
        }
        return t
    }()

    @inline(__always)
    static func role(_ t: Token) -> Role { Role(rawValue: max(roles.get(t.hash), 0)) }

    /// The tokens read as irony, from the praise that frames it to the end of the problem stated by tokens
    /// `complaint`; nil when no frame comes before the problem, or the praise is sincere: a contrast or a negation
    /// between them ("Great, no more waiting in line"), or the problem settled (`settled`: "They replaced my damaged
    /// item", "Great, the missing parcel just arrived", "glad we waited an hour, best meal of the trip").
    static func span(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, complaint: Range<Int>) -> Range<Int>? {
        let cs = complaint.lowerBound
        let ce = min(complaint.upperBound, n)
        guard cs < ce else { return nil }
        // the complaint rules that open with a thanks thank for the problem itself: "thanks for losing my bag"
        if role(toks[cs]).contains(.thanks) { return settled(toks, n, cs, ce, nextSentence: false) ? nil : cs..<ce }
        var negated = false
        var j = cs - 1
        while j >= 0 && cs - j <= 12 {
            let t = toks[j]
            if t.has(Token.sentenceEnd) {
                // the problem's sentence began after j: the one before counts only as an opener alone
                guard let s = aloneStart(toks, j), !negated, !settled(toks, n, cs, ce, nextSentence: false) else {
                    return nil
                }
                return s..<ce
            }
            let r = role(t)
            if r.contains(.contrast) { return nil }
            // "thanks for the 3 hour delay": a thanks for the problem, its article or a count between
            if r.contains(.thanks) && thanksFor(toks, j, cs) {
                return negated || settled(toks, n, cs, ce, nextSentence: false) ? nil : j..<ce
            }
            if t.has(Token.positive) && !t.has(Token.negator) && !r.contains(.thanks) {
                // the praise nearest the problem decides (a thanks aside): a frame, or sincere praise of something
                guard let s = frameStart(toks, j, r, cs), !negated,
                    !settled(toks, n, cs, ce, nextSentence: aloneStart(toks, j) == nil)
                else { return nil }
                return s..<ce
            }
            if t.has(Token.negator) { negated = true }
            j -= 1
        }
        return nil
    }

    /// Whether the thanks at `j` is for the problem starting at `cs`: "thanks for the", "thank you for another", with
    /// at most two words between "for" and the problem, each an article, a possessive or a count.
    private static func thanksFor(_ toks: UnsafeMutableBufferPointer<Token>, _ j: Int, _ cs: Int) -> Bool {
        var k = j + 1
        if k < cs && toks[k].hash == TermHash.you && !toks[j].has(Token.boundaryAfter) { k += 1 }
        guard k < cs, toks[k].hash == TermHash.for, !toks[k - 1].has(Token.boundaryAfter),
            !toks[k].has(Token.boundaryAfter), cs - k <= 3
        else { return false }
        k += 1
        while k < cs {
            if toks[k].has(Token.boundaryAfter) || !(role(toks[k]).contains(.determiner) || toks[k].has(Token.number)) {
                return false
            }
            k += 1
        }
        return true
    }

    /// Whether a contrast word comes at or after token `i`: "..., but the screen cracked", "except the order".
    static func contrastFollows(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, from i: Int) -> Bool {
        var k = i
        while k < n {
            if role(toks[k]).contains(.contrast) { return true }
            k += 1
        }
        return false
    }

    /// The last sentence, up to 12 tokens, when the text closes with a capitalised ", NOT" after its praise: "Thanks
    /// for the great service, NOT".
    static func closingNot(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int) -> Range<Int>? {
        guard n >= 3 else { return nil }
        let last = toks[n - 1]
        guard last.hash == TermHash.not && last.has(Token.upper) && toks[n - 2].has(Token.boundaryAfter) else {
            return nil
        }
        var s = n - 1
        while s > 0 && !toks[s - 1].has(Token.sentenceEnd) && n - s < 12 { s -= 1 }
        return s..<n
    }

    /// Where the frame of praise word `j` (roles `r`) starts, when it frames the problem at `cs` as irony.
    private static func frameStart(
        _ toks: UnsafeMutableBufferPointer<Token>, _ j: Int, _ r: Role, _ cs: Int
    ) -> Int? {
        if r.contains(.opener), let s = aloneStart(toks, j) { return s }
        let open = !toks[j].has(Token.boundaryAfter)
        if r.contains(.lover) && open && j + 1 <= cs {
            let next = toks[j + 1]
            let nr = role(next)
            // "love waiting in line for an hour", "love being put on hold"
            if nr.contains(.loveFrame) && !nr.contains(.clauseWord) && cs - j <= 3 { return j }
            // "love how nobody answers", "love it when the kiosk eats my card": a subject, then the problem
            var k = j + 1
            if nr.contains(.it) && !next.has(Token.boundaryAfter) && j + 2 <= cs { k = j + 2 }
            if role(toks[k]).contains(.clauseWord) && !toks[k].has(Token.boundaryAfter) && cs - k <= 4
                && (k + 1 == cs || role(toks[k + 1]).contains(.subject))
            {
                return j
            }
            // "gotta love airlines that lose your bags", "got to love being put on hold"
            if j > 0 && !toks[j - 1].has(Token.boundaryAfter) && cs - j <= 6 {
                if role(toks[j - 1]).contains(.gotta) { return j - 1 }
                if toks[j - 1].hash == TermHash.to && j > 1 && role(toks[j - 2]).contains(.obliged) { return j - 2 }
            }
        }
        // "so glad I just waited an hour on the phone": the problem is what the speaker is glad of
        if r.contains(.pleased) && open {
            var k = j + 1
            if k < cs && toks[k].hash == TermHash.that { k += 1 }
            if k < cs && role(toks[k]).contains(.speaker) {
                k += 1
                if k < cs && role(toks[k]).contains(.adverb) { k += 1 }
                if k == cs { return j }
            }
        }
        // "nice job losing my luggage"
        if r.contains(.opener) && open && j + 2 == cs && role(toks[j + 1]).contains(.job)
            && !toks[j + 1].has(Token.boundaryAfter)
        {
            return j
        }
        return nil
    }

    /// Where the clause of an opener alone at the start of a sentence starts (at a lead before it: "Oh great,"),
    /// when token `j` is one: "Great, ...", "Oh perfect.".
    private static func aloneStart(_ toks: UnsafeMutableBufferPointer<Token>, _ j: Int) -> Int? {
        guard toks[j].has(Token.boundaryAfter) && role(toks[j]).contains(.opener) else { return nil }
        if j == 0 || toks[j - 1].has(Token.sentenceEnd) { return j }
        let leads = role(toks[j - 1]).contains(.lead) && !toks[j - 1].has(Token.boundaryAfter)
        return leads && (j == 1 || toks[j - 2].has(Token.sentenceEnd)) ? j - 1 : nil
    }

    /// Whether the problem at tokens `cs..<ce` is put right or outweighed: a remedy or good news in its sentence
    /// or the next one (outside the problem's own words), a contrast after it in its sentence, or praise in a later
    /// clause or (`nextSentence`) the next sentence, a thanks aside. An opener's or a thanks's irony stands whatever
    /// the next sentence praises ("Great, another cancelled flight. The crew were lovely").
    private static func settled(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ cs: Int, _ ce: Int, nextSentence: Bool = true
    ) -> Bool {
        var s = cs
        while s > 0 && !toks[s - 1].has(Token.sentenceEnd) { s -= 1 }
        var sentences = 0
        // praise counts in a later clause of the problem's sentence ("..., best meal of the trip") or the next one,
        // not in its own clause ("another broken promise")
        var laterClause = false
        var k = s
        while k < n {
            let t = toks[k]
            if k < cs || k >= ce {
                let r = role(t)
                if r.contains(.remedy) || r.contains(.goodNews) { return true }
                if k >= ce && sentences == 0 && r.contains(.contrast) { return true }
                if laterClause && (sentences == 0 || nextSentence) && t.has(Token.positive) && !t.has(Token.negator)
                    && !r.contains(.thanks)
                {
                    return true
                }
            }
            if k >= ce - 1 && t.has(Token.boundaryAfter) { laterClause = true }
            if t.has(Token.sentenceEnd) {
                sentences += 1
                if sentences == 2 { break }
            }
            k += 1
        }
        return false
    }
}
