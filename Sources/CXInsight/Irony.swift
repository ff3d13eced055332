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
                    "apologized", "rescued",
                ]
            ),
            (.job, ["job", "work", "going"]),
            (.pleased, ["glad", "happy", "thrilled", "delighted", "pleased", "excited"]),
            (.speaker, ["i", "we", "i've", "we've", "ive"]),
            (.adverb, ["just", "really", "only", "got", "have", "had"]),
            (.clauseWord, ["when", "how", "that"]),
            (.it, ["it"]),
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

    /// Where the irony ends (an exclusive token index) when the praise before the problem stated by tokens
    /// `complaint` is ironic; 0 when it is not.
    static func end(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, complaint: Range<Int>) -> Int {
        let cs = complaint.lowerBound
        let ce = min(complaint.upperBound, n)
        guard cs < n else { return 0 }
        // the complaint rules that open with a thanks thank for the problem itself: "thanks for losing my bag"
        if role(toks[cs]).contains(.thanks) { return ce }
        var j = cs - 1
        while j >= 0 && cs - j <= 16 {
            let t = toks[j]
            if t.has(Token.sentenceEnd) {
                // the problem's sentence began after j: the one before counts only as an opener alone
                return opensAlone(toks, j) && !hasRemedy(toks, n, around: cs) ? ce : 0
            }
            let r = role(t)
            if r.contains(.contrast) { return 0 }
            if t.has(Token.positive) && !t.has(Token.negator) && isIronicFrame(toks, j, r, cs) {
                return hasRemedy(toks, n, around: cs) ? 0 : ce
            }
            j -= 1
        }
        return 0
    }

    /// Whether the text closes with a capitalised ", NOT" after its praise: "Thanks for the great service, NOT".
    static func closesWithNot(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int) -> Bool {
        guard n >= 3 else { return false }
        let last = toks[n - 1]
        return last.hash == TermHash.not && last.has(Token.upper) && toks[n - 2].has(Token.boundaryAfter)
    }

    private static func isIronicFrame(
        _ toks: UnsafeMutableBufferPointer<Token>, _ j: Int, _ r: Role, _ cs: Int
    ) -> Bool {
        if r.contains(.opener) && opensAlone(toks, j) { return true }
        let open = !toks[j].has(Token.boundaryAfter)
        if r.contains(.lover) && open && j + 1 <= cs {
            let next = role(toks[j + 1])
            if next.contains(.loveFrame) { return true }
            if next.contains(.it) && j + 2 <= cs && !toks[j + 1].has(Token.boundaryAfter)
                && role(toks[j + 2]).contains(.clauseWord)
            {
                return true
            }
            if j > 0 && !toks[j - 1].has(Token.boundaryAfter) {
                let before = role(toks[j - 1])
                if before.contains(.gotta) { return true }
                if toks[j - 1].hash == TermHash.to && j > 1 && role(toks[j - 2]).contains(.obliged) { return true }
            }
        }
        // "so glad I just waited an hour on the phone": the problem is what the speaker is glad of
        if r.contains(.pleased) && open {
            var k = j + 1
            if k < cs && role(toks[k]).contains(.clauseWord) && toks[k].hash == TermHash.that { k += 1 }
            if k < cs && role(toks[k]).contains(.speaker) {
                k += 1
                if k < cs && role(toks[k]).contains(.adverb) { k += 1 }
                if k == cs { return true }
            }
        }
        // "nice job losing my luggage", "great work cancelling my flight"
        if r.contains(.opener) && open && j + 2 == cs && role(toks[j + 1]).contains(.job)
            && !toks[j + 1].has(Token.boundaryAfter)
        {
            return true
        }
        return false
    }

    /// An opener alone in its clause at the start of a sentence, perhaps after a lead: "Great, ...", "Oh perfect.".
    private static func opensAlone(_ toks: UnsafeMutableBufferPointer<Token>, _ j: Int) -> Bool {
        guard toks[j].has(Token.boundaryAfter) && role(toks[j]).contains(.opener) else { return false }
        if j == 0 || toks[j - 1].has(Token.sentenceEnd) { return true }
        return role(toks[j - 1]).contains(.lead) && !toks[j - 1].has(Token.boundaryAfter)
            && (j == 1 || toks[j - 2].has(Token.sentenceEnd))
    }

    /// Whether the sentence of token `i` names a remedy.
    private static func hasRemedy(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, around i: Int) -> Bool {
        var s = i
        while s > 0 && !toks[s - 1].has(Token.sentenceEnd) { s -= 1 }
        var k = s
        while k < n {
            if role(toks[k]).contains(.remedy) { return true }
            if toks[k].has(Token.sentenceEnd) { break }
            k += 1
        }
        return false
    }
}
