import CXCore

/// One intent rule: a sequence of word alternatives, optional elements, number slots and gaps.
///
/// Rules are data (`Resources/intent_rules.txt`, one `kind<TAB>pattern` per line) so that operators
/// can read why an event was classed a complaint and extend the list without a rebuild. Pattern syntax:
/// `word`, `(a|b c|d)` alternatives (an alternative may be several words), `x?` optional, `<num>` a
/// number or number word (in a rules file also one alternative of a group), `*N` up to N arbitrary words, a leading
/// `^` anchors at the start of a sentence or clause, a leading `!` allows a negation right before the match
/// (otherwise "not rude" is no hit).
public struct IntentRule: Sendable, Hashable {
    enum Element: Sendable, Hashable {
        case words([[UInt64]], optional: Bool)
        case number(optional: Bool)
        case gap(Int)
    }
    /// Intent the rule signals.
    public var kind: Enrichment.Intent.Kind
    /// Source text of the pattern, for audits.
    public var pattern: String
    var elements: [Element]
    var anchored: Bool
    var allowNegated: Bool
    var kindBit: UInt8

    /// A rule that cannot be compiled: what is wrong, in which pattern, and on which line of a rules file.
    public struct SyntaxError: Error, CustomStringConvertible {
        public static let code = "intent_rule_syntax"
        /// The pattern (or the whole line, when the line itself is malformed).
        public var pattern: String
        public var reason: String
        /// 1-based line of the rules text, when the rule came from one.
        public var line: Int?

        public var description: String {
            "\(Self.code): \(line.map { "line \($0): " } ?? "")\(reason) in '\(pattern)'"
        }
    }

    /// Compiles one rule; throws on unbalanced parentheses, an empty pattern or element, `<num>` inside a group, and a
    /// rule that starts with an optional element or a gap.
    public init(kind: Enrichment.Intent.Kind, pattern: String) throws {
        self.kind = kind
        self.pattern = pattern
        kindBit = UInt8(1) << UInt8(Enrichment.Intent.Kind.allCases.firstIndex(of: kind)!)
        var p = Substring(pattern.trimmingWhitespace())
        anchored = false
        allowNegated = false
        while let c = p.first, c == "^" || c == "!" {
            if c == "^" { anchored = true } else { allowNegated = true }
            p = p.dropFirst().drop(while: { $0 == " " })
        }
        var elems: [Element] = []
        var i = p.startIndex
        while i < p.endIndex {
            if p[i] == " " { i = p.index(after: i); continue }
            var alts: [[UInt64]] = []
            var isNum = false
            var gap = -1
            if p[i] == "(" {
                guard let close = p[i...].firstIndex(of: ")") else {
                    throw SyntaxError(pattern: pattern, reason: "'(' without a closing ')'")
                }
                let group = p[p.index(after: i)..<close].split(separator: "|")
                // Word alternatives hold words: a `<num>` among them would be the literal word "<num>", which no
                // text has (`IntentDetector(rulesText:)` writes such a group as two rules).
                if group.contains(where: { String($0).trimmingWhitespace() == "<num>" }) {
                    throw SyntaxError(
                        pattern: pattern, reason: "<num> inside a group (write it as an element of its own)")
                }
                alts = group.map { alt in alt.split(separator: " ").map { TermHash.of(String($0)) } }
                i = p.index(after: close)
            } else {
                var j = i
                while j < p.endIndex && p[j] != " " && p[j] != "?" { j = p.index(after: j) }
                let w = String(p[i..<j])
                i = j
                if w == "<num>" {
                    isNum = true
                } else if w.hasPrefix("*") {
                    gap = Int(w.dropFirst()) ?? 1
                } else {
                    alts = [[TermHash.of(w)]]
                }
            }
            var optional = false
            if i < p.endIndex && p[i] == "?" { optional = true; i = p.index(after: i) }
            if gap >= 0 {
                elems.append(.gap(gap))
            } else if isNum {
                elems.append(.number(optional: optional))
            } else {
                if alts.isEmpty || alts.contains(where: \.isEmpty) {
                    throw SyntaxError(pattern: pattern, reason: "an empty group or alternative")
                }
                elems.append(.words(alts, optional: optional))
            }
        }
        guard let first = elems.first else { throw SyntaxError(pattern: pattern, reason: "an empty pattern") }
        switch first {
        case .words(_, let o), .number(let o):
            if o { throw SyntaxError(pattern: pattern, reason: "a rule cannot start with an optional element") }
        case .gap: throw SyntaxError(pattern: pattern, reason: "a rule cannot start with a gap")
        }
        elements = elems
    }
}

extension IntentRule {
    /// `pattern` with each group that lists `<num>` among its alternatives written as two patterns: one with the
    /// group's other alternatives, one with `<num>` in the group's place (an optional group stays optional). The
    /// matcher's alternatives are words only; this keeps `(an|<num>) hours` as the rule file's authors meant it.
    static func expandingNumberAlternatives(_ pattern: String) -> [String] {
        var search = pattern.startIndex
        while let open = pattern[search...].firstIndex(of: "(") {
            guard let close = pattern[open...].firstIndex(of: ")") else { return [pattern] }
            let alternatives = pattern[pattern.index(after: open)..<close].split(separator: "|").map {
                String($0).trimmingWhitespace()
            }
            guard alternatives.contains("<num>") else {
                search = pattern.index(after: close)
                continue
            }
            let before = String(pattern[..<open])
            let after = String(pattern[pattern.index(after: close)...])
            let others = alternatives.filter { $0 != "<num>" }
            var variants: [String] = []
            if !others.isEmpty { variants.append(before + "(" + others.joined(separator: "|") + ")" + after) }
            variants.append(before + "<num>" + after)
            return variants.flatMap { expandingNumberAlternatives($0) }
        }
        return [pattern]
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// Rule-based detection of complaint, refund, cancellation/churn, praise and question intents.
///
/// Sentiment alone misses most complaints ("charged twice" has no emotional word), so complaints come
/// from phrase rules first; strongly negative sentiment is a fallback. Each intent carries the phrase
/// that triggered it so that operators can audit the rule.
public struct IntentDetector: Sendable {
    /// The compiled rules, in file order.
    public private(set) var rules: [IntentRule]
    private(set) var heads = TermTable(minimumCapacity: 256)
    private var headLists: [[Int32]] = []
    /// The rules headed by a number, put forward by every number token.
    private var numberCandidates: [Candidate] = []
    private var headFlat: [Int32] = []  // per head: start, count into headCandidates
    private var headCandidates: [Candidate] = []
    /// Per head, what rejects all of its candidates at once (`HeadFilter`).
    private var headFilters: [HeadFilter] = []
    /// The same for `numberCandidates`.
    private var numberFilter = HeadFilter([Candidate]())
    /// The union of one head's candidates' tests: when the kinds they detect are all found already, or the next
    /// token is outside every candidate's `next`, none of them can match, and the candidates are not read one by
    /// one. Heads are common words ("the", "was", "is", "not"): with the numbers, 47% of the workload's tokens put
    /// rules forward, and the next word rejects most of them.
    struct HeadFilter {
        var next: WordSignature
        var kinds: UInt8
        /// Every candidate checks the next word (else anything may follow one of them).
        var checksNext: Bool

        init(_ candidates: some Sequence<Candidate>) {
            next = WordSignature()
            kinds = 0
            checksNext = true
            for c in candidates {
                next.formUnion(c.next)
                kinds |= c.kindBit
                checksNext = checksNext && c.checksNext
            }
        }

        /// Whether every candidate rejects head token `t`, at `i` of `toks`, given the kinds `seen` already.
        @inline(__always)
        func rejects(
            _ t: Token, _ i: Int, _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, seen: UInt8
        ) -> Bool {
            seen & kinds == kinds
                || (checksNext && (t.has(Token.sentenceEnd) || i + 1 >= n || !next.contains(toks[i + 1].hash)))
        }
    }
    /// A rule as a head word puts it forward, with what rejects it before its record is read: its kind (one hit
    /// per kind) and the words the next token must be among (`nextWords`). A candidate that fails either needs
    /// neither the rule's record (an L1 miss in profiles) nor the matcher.
    struct Candidate {
        var next: WordSignature
        var rule: Int32
        var kindBit: UInt8
        var checksNext: Bool

        /// Rule `index` of `rules`, checked against the words its head may be followed by (`nextWords`).
        init(_ index: Int32, of rules: [IntentRule], head: UInt64?) {
            let rule = rules[Int(index)]
            let next = IntentDetector.nextWords(rule) { alternatives in alternatives.filter { $0[0] == head } }
            self.next = next ?? .all
            self.rule = index
            kindBit = rule.kindBit
            checksNext = next != nil
        }
    }
    /// Flat form of the rules for the hot path: per rule a range of `ops`; per op a kind, a flag and a
    /// range of alternatives; per alternative a range of `altWords` (no arrays of arrays, no enum payloads).
    struct Op {
        var kind: UInt8  // 0 words, 1 number, 2 gap
        var optional: Bool
        var gap: Int32
        var altStart: Int32
        var altCount: Int32
        /// The first words of a words-element's alternatives: a token outside it skips the scan of the
        /// alternatives (dozens in the long lists).
        var first = WordSignature.all
    }
    private var ops: [Op] = []
    private var alts: [Int32] = []  // start, count pairs into altWords
    private var altWords: [UInt64] = []
    /// What the hot path reads of one rule, side by side: a candidate rule is tested from one record instead of
    /// from seven arrays (a base address and a bounds check each).
    struct Compiled {
        /// The two words-elements it cannot match without that have the fewest first words, as signatures: a
        /// rule is not tried on a text that shares no word with either, so the matcher runs only where it can
        /// succeed.
        var needs: (WordSignature, WordSignature)
        /// Its range of `ops`.
        var opStart: Int32
        var opCount: Int32
        var kindBit: UInt8
        var anchored: Bool
        var allowNegated: Bool
        var isQuestion: Bool
        var kind: Enrichment.Intent.Kind
        /// Its first element is one required word out of a list: the head token that put the rule forward is that
        /// element's whole match, and matching starts at the second element instead of scanning the list again.
        var oneWordHead: Bool
    }
    private var compiled: [Compiled] = []
    private(set) var cueWords = TermTable(minimumCapacity: 256)
    private var cuePhrases = TermTable(minimumCapacity: 256)
    private(set) var cueHeads = TermTable(minimumCapacity: 128)
    private var cueWeights: [Float] = []
    static let greetings: Set<UInt64> = Set(
        [
            "hi", "hello", "hey", "there", "team", "morning", "afternoon", "evening", "question", "please", "thanks",
            "folks", "all", "guys", "sir", "madam", "ok", "okay", "so", "also", "and", "but",
        ].map { TermHash.of($0) })
    static let tooHash = TermHash.of("too")
    static let numberWords: TermTable = {
        var t = TermTable(minimumCapacity: 32)
        for w in [
            "a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "fifteen",
            "twenty", "thirty", "forty", "fifty", "sixty", "ninety", "few", "several", "couple", "hundred",
        ] {
            t.set(TermHash.of(w), 1)
        }
        return t
    }()

    /// Compound score at or below which a text without a complaint rule hit still counts as a complaint.
    public var complaintSentimentThreshold: Double = -0.45
    /// Compound score at or above which a text without a praise rule hit counts as praise.
    public var praiseSentimentThreshold: Double = 0.6

    /// Loads the rules bundled with the module.
    public static func bundled() throws -> IntentDetector {
        try IntentDetector(rulesText: String(decoding: InsightResources.load("intent_rules", "txt"), as: UTF8.self))
    }

    /// Parses rules in the `kind<TAB>pattern` format; `#` starts a comment line.
    public init(rulesText: String) throws {
        var list: [IntentRule] = []
        var cueList: [(String, Double)] = []
        for (index, line) in rulesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = String(line).trimmingWhitespace()
            if l.isEmpty || l.hasPrefix("#") { continue }
            if l.hasPrefix("cue\t") {
                let f = l.split(separator: "\t")
                guard f.count == 3, let w = Double(f[1]) else {
                    throw IntentRule.SyntaxError(
                        pattern: l, reason: "a cue line is cue<TAB>weight<TAB>phrase", line: index + 1)
                }
                cueList.append((String(f[2]), w))
                continue
            }
            let tab = l.firstIndex(where: { $0 == "\t" || $0 == " " }) ?? l.endIndex
            guard tab < l.endIndex, let kind = Enrichment.Intent.Kind(rawValue: String(l[..<tab])) else {
                let kinds = Enrichment.Intent.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                throw IntentRule.SyntaxError(
                    pattern: l, reason: "a rule line is kind<TAB>pattern, kind one of \(kinds) (or cue)",
                    line: index + 1)
            }
            do {
                for pattern in IntentRule.expandingNumberAlternatives(String(l[l.index(after: tab)...])) {
                    list.append(try IntentRule(kind: kind, pattern: pattern))
                }
            } catch var error as IntentRule.SyntaxError {
                error.line = index + 1
                throw error
            }
        }
        try self.init(rules: list, cues: cueList)
    }

    /// Whether `e` is a required element whose alternatives are single words.
    static func isOneWordHead(_ e: IntentRule.Element) -> Bool {
        guard case .words(let alternatives, false) = e else { return false }
        return alternatives.allSatisfy { $0.count == 1 }
    }

    /// Builds a detector from compiled rules and weighted complaint cues (word or phrase, weight).
    public init(rules: [IntentRule], cues: [(String, Double)] = []) throws {
        self.rules = rules
        for r in rules {
            let opStart = Int32(ops.count)
            for e in r.elements {
                switch e {
                case .words(let a, let o):
                    var first = WordSignature()
                    for alt in a { first.insert(alt[0]) }
                    ops.append(
                        Op(
                            kind: 0, optional: o, gap: 0, altStart: Int32(alts.count / 2), altCount: Int32(a.count),
                            first: first))
                    for alt in a {
                        alts.append(Int32(altWords.count))
                        alts.append(Int32(alt.count))
                        altWords += alt
                    }
                case .number(let o): ops.append(Op(kind: 1, optional: o, gap: 0, altStart: 0, altCount: 0))
                case .gap(let g): ops.append(Op(kind: 2, optional: false, gap: Int32(g), altStart: 0, altCount: 0))
                }
            }
            // Every alternative of a required element starts with one of these words.
            let needs = r.elements.dropFirst().compactMap { e -> WordSignature? in
                guard case .words(let a, false) = e else { return nil }
                var sig = WordSignature()
                for alt in a { sig.insert(alt[0]) }
                return sig
            }.sorted { $0.bitCount < $1.bitCount }
            compiled.append(
                Compiled(
                    needs: (needs.count > 0 ? needs[0] : .all, needs.count > 1 ? needs[1] : .all), opStart: opStart,
                    opCount: Int32(r.elements.count), kindBit: r.kindBit, anchored: r.anchored,
                    allowNegated: r.allowNegated, isQuestion: r.kind == .question, kind: r.kind,
                    oneWordHead: Self.isOneWordHead(r.elements[0])))
        }
        for (term, w) in cues {
            let parts = term.lowercased().split(separator: " ").map { TermHash.of(String($0)) }
            guard !parts.isEmpty, parts.count <= 4 else { continue }
            if parts.count == 1 {
                cueWords.set(parts[0], Int32(cueWeights.count))
            } else {
                var key = parts[0]
                for p in parts.dropFirst() { key = TermHash.combine(key, p) }
                cuePhrases.set(key, Int32(cueWeights.count))
                // The head's entry: its longest phrase's length in the low three bits, and above them one bit per
                // second word of its phrases (`cueNextBit`), so that a head whose next word starts none of them
                // skips its probes of the phrase table (cue heads are 23% of the workload's words, "the" and "was"
                // alone 16%).
                let old = max(cueHeads.get(parts[0]), 0)
                let longest = max(old & 7, Int32(parts.count))
                cueHeads.set(parts[0], old & ~7 | Self.cueNextBit(parts[1]) | longest)
            }
            cueWeights.append(Float(w))
        }
        var headWords: [UInt64] = []
        for (ri, r) in rules.enumerated() {
            switch r.elements[0] {
            case .words(let alts, _):
                for a in Set(alts.map { $0[0] }) {
                    var k = heads.get(a)
                    if k < 0 {
                        k = Int32(headLists.count)
                        heads.set(a, k)
                        headLists.append([])
                        headWords.append(a)
                    }
                    headLists[Int(k)].append(Int32(ri))
                }
            case .number: numberCandidates.append(Candidate(Int32(ri), of: rules, head: nil))
            case .gap: break
            }
        }
        for (list, head) in zip(headLists, headWords) {
            headFlat.append(Int32(headCandidates.count))
            headFlat.append(Int32(list.count))
            let candidates = list.map { Candidate($0, of: rules, head: head) }
            headCandidates += candidates
            headFilters.append(HeadFilter(candidates))
        }
        numberFilter = HeadFilter(numberCandidates)
    }

    /// The words that can follow the head token of `rule` in a match: the second word of each alternative of the
    /// first element that the head starts (`headWordsOf` picks them), and for a one-word alternative (or a number
    /// head) the first words of the word elements after it up to the first required one. Nil when anything may
    /// follow (a number or a gap comes first, or only optional elements follow). The next token must be among them
    /// and the head must not end a sentence: the matcher would fail otherwise, so the candidate is dropped before
    /// it is called. "the runaround" put forward by every "the" was tried 1.6 times per text of the workload and
    /// never matched.
    static func nextWords(_ rule: IntentRule, headWordsOf: ([[UInt64]]) -> [[UInt64]]) -> WordSignature? {
        var next = WordSignature()
        var afterFirst: [[UInt64]] = []
        switch rule.elements[0] {
        case .words(let alternatives, _):
            for alt in headWordsOf(alternatives) {
                if alt.count >= 2 { next.insert(alt[1]) } else { afterFirst.append(alt) }
            }
        case .number: afterFirst = [[]]
        case .gap: return nil
        }
        guard !afterFirst.isEmpty else { return next }
        // the first words of the optional elements after the head and of the required one that ends them
        for element in rule.elements.dropFirst() {
            guard case .words(let following, let optional) = element else { return nil }
            for alt in following { next.insert(alt[0]) }
            if !optional { return next }
        }
        return nil
    }

    /// Tries `rule` at token `start`, which must be one of the rule's head words (`heads`); returns the index one
    /// past the last matched token, or -1.
    private func match(
        _ rule: Compiled, _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ start: Int,
        _ O: UnsafeBufferPointer<Op>, _ A: UnsafeBufferPointer<Int32>, _ W: UnsafeBufferPointer<UInt64>
    ) -> Int {
        let opStart = Int(rule.opStart)
        let opEnd = opStart + Int(rule.opCount)
        func go(_ e: Int, _ j: Int, _ crossed: Bool) -> Int {
            if e == opEnd { return j }
            if crossed { return -1 }
            let op = O[e]
            switch op.kind {
            case 0:
                if j < n && op.first.contains(toks[j].hash) {
                    var a = Int(op.altStart)
                    let aEnd = a + Int(op.altCount)
                    while a < aEnd {
                        let ws = Int(A[2 * a])
                        let wc = Int(A[2 * a + 1])
                        a += 1
                        if toks[j].hash != W[ws] { continue }
                        var k = 1
                        var ok = true
                        while k < wc {
                            let t = j + k
                            if t >= n || toks[t].hash != W[ws + k] || toks[t - 1].has(Token.sentenceEnd) {
                                ok = false; break
                            }
                            k += 1
                        }
                        if ok {
                            let end = j + wc
                            let r2 = go(e + 1, end, toks[end - 1].has(Token.sentenceEnd))
                            if r2 >= 0 { return r2 }
                        }
                    }
                }
                return op.optional ? go(e + 1, j, false) : -1
            case 1:
                if j < n
                    && (toks[j].has(Token.number) || Self.isNumberWord(toks[j])
                        || (toks[j].has(Token.hasDigit) && toks[j].length <= 6))
                {
                    let r2 = go(e + 1, j + 1, toks[j].has(Token.sentenceEnd))
                    if r2 >= 0 { return r2 }
                }
                return op.optional ? go(e + 1, j, false) : -1
            default:
                var k = 0
                var jj = j
                while k <= Int(op.gap) {
                    let r2 = go(e + 1, jj, false)
                    if r2 >= 0 { return r2 }
                    if jj >= n || toks[jj].has(Token.sentenceEnd) { break }
                    jj += 1
                    k += 1
                }
                return -1
            }
        }
        // The head is a word of the first element (`heads`); when that element is one required word, it matched.
        if rule.oneWordHead { return go(opStart + 1, start + 1, toks[start].has(Token.sentenceEnd)) }
        return go(opStart, start, false)
    }

    @inline(__always)
    static func isNumberWord(_ t: Token) -> Bool {
        t.entry(.numberWord, else: numberWords.get(t.hash)) >= 0
    }

    struct Hit {
        var kind: Enrichment.Intent.Kind
        var start: Int
        var end: Int  // exclusive token index
    }

    /// First hit per kind, in order of appearance, handed to `body` one by one (no array: this runs for every
    /// text).
    func hits(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, questionMark: Bool, _ body: (Hit) -> Void
    ) {
        ops.withUnsafeBufferPointer { O in
            alts.withUnsafeBufferPointer { A in
                altWords.withUnsafeBufferPointer { W in
                    compiled.withUnsafeBufferPointer { C in
                        headCandidates.withUnsafeBufferPointer { H in
                            hitsInner(toks, n, questionMark, O, A, W, C, H, body)
                        }
                    }
                }
            }
        }
    }

    private func hitsInner(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ questionMark: Bool, _ O: UnsafeBufferPointer<Op>,
        _ A: UnsafeBufferPointer<Int32>, _ W: UnsafeBufferPointer<UInt64>,
        _ C: UnsafeBufferPointer<Compiled>, _ H: UnsafeBufferPointer<Candidate>,
        _ body: (Hit) -> Void
    ) {
        var seen: UInt8 = 0
        var words = WordSignature()
        for i in 0..<n { words.insert(toks[i].hash) }
        for i in 0..<n {
            let t = toks[i]
            let k = t.entry(.intentHead, else: heads.get(t.hash))
            // the same test as a <num> element inside a rule ("45", "forty", "15min")
            let num =
                !numberCandidates.isEmpty
                && (t.has(Token.number) || Self.isNumberWord(t) || (t.has(Token.hasDigit) && t.length <= 6))
                && !numberFilter.rejects(t, i, toks, n, seen: seen)
            if k < 0 && !num { continue }
            var first = 0
            var hs = 0
            if k >= 0 {
                if !headFilters[Int(k)].rejects(t, i, toks, n, seen: seen) {
                    hs = Int(headFlat[2 * Int(k)])
                    first = Int(headFlat[2 * Int(k) + 1])
                } else if !num {
                    continue
                }
            }
            let total = first + (num ? numberCandidates.count : 0)
            for c in 0..<total {
                let candidate = c < first ? H[hs + c] : numberCandidates[c - first]
                if seen & candidate.kindBit != 0 { continue }
                // what the matcher would test first, without its call and the rule's record
                if candidate.checksNext
                    && (t.has(Token.sentenceEnd) || i + 1 >= n || !candidate.next.contains(toks[i + 1].hash))
                {
                    continue
                }
                let rule = C[Int(candidate.rule)]
                let bit = rule.kindBit
                if rule.anchored
                    && !(t.has(Token.sentenceStart)
                        || (i > 0 && toks[i - 1].has(Token.boundaryAfter) && Self.greetings.contains(toks[i - 1].hash))
                        || (i == 1 && toks[0].altHash != 0 && toks[0].has(Token.letters)))  // after "@store"
                {
                    continue
                }
                if !rule.needs.0.intersects(words) || !rule.needs.1.intersects(words) { continue }
                let end = match(rule, toks, n, i, O, A, W)
                if end <= i { continue }
                if !rule.allowNegated {
                    var neg = false
                    var j = i - 1
                    while j >= 0 && j >= i - 3 && !toks[j].has(Token.boundaryAfter) {
                        if toks[j].has(Token.negator) { neg = true; break }
                        j -= 1
                    }
                    if neg { continue }
                }
                if rule.kind == .complaint
                    && (ProblemDenial.denies(toks, n, from: i, to: end) || Self.praisePurpose(toks, n, after: end))
                {
                    continue
                }
                if rule.kind == .refund && Self.refundReceived(toks, n, from: i, to: end) { continue }
                if rule.isQuestion && !questionMark {
                    // without a question mark, a sentence that ends with "." or "!" is a statement ("Does the job.")
                    var k = end - 1
                    while k < n - 1 && !toks[k].has(Token.sentenceEnd) { k += 1 }
                    if toks[k].has(Token.explicitStop) { continue }
                }
                if end > i {
                    seen |= bit
                    body(Hit(kind: rule.kind, start: i, end: end))
                }
            }
        }
    }
}

extension IntentDetector {
    /// The bit of a cue head's entry that a second word of its phrases sets: one of twelve above the length bits,
    /// so that the entry stays within the vocabulary's 16-bit fields.
    @inline(__always) static func cueNextBit(_ hash: UInt64) -> Int32 {
        Int32(8) << Int32(TermTable.home(hash, 32) % 12)
    }

    /// Verbs that say a refund has come: "I received a full refund", "they gave me my money back". A refund the
    /// customer has is no refund request; not having one ("haven't received a refund") still is. "Approved",
    /// "issued" and "sorted" are not among them: the money may still be missing.
    static let receiptVerbs: Set<UInt64> = Set(
        ["received", "got", "gotten", "gave", "given", "processed", "credited", "refunded"].map { TermHash.of($0) })

    /// Words in a received refund's clause, or opening the next, that say it did not end well: "got told no refund
    /// because", "I got my refund request rejected", "received a partial refund but".
    static let refundTroubleWords: Set<UInt64> = Set(
        [
            "still", "yet", "where", "but", "rejected", "denied", "declined", "refused", "wrong", "short", "partial",
            "missing", "instead", "not",
        ].map { TermHash.of($0) })

    /// Words just before a receipt verb that say the refund has not come: "still", "yet", or a wish or an
    /// expectation ("I expect to be given a full refund").
    static let notReceivedWords: Set<UInt64> = Set(
        [
            "still", "yet", "be", "to", "will", "would", "should", "could", "can", "may", "might", "must", "expect",
            "expecting", "hope", "want", "wish", "if",
        ].map { TermHash.of($0) })

    /// Whether a refund rule's hit over tokens `i..<end` is a refund received: a receipt verb within three words
    /// before it, in its clause, with no negation or `notReceivedWords` just before that verb; the hit does not
    /// start with a negation ("received no refund"), its clause has no trouble word ("n't", "rejected", "partial"...)
    /// nor does the next clause open with one ("..., but"), and its sentence is no question ("Has anyone received
    /// their refund yet?").
    static func refundReceived(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, from i: Int, to end: Int) -> Bool {
        if toks[i].has(Token.negator) { return false }
        var k = i
        while k < n {
            if toks[k].has(Token.negContraction) || refundTroubleWords.contains(toks[k].hash) { return false }
            if toks[k].has(Token.boundaryAfter) { break }
            k += 1
        }
        if k < n && !toks[k].has(Token.sentenceEnd) && k + 1 < n && refundTroubleWords.contains(toks[k + 1].hash) {
            return false
        }
        var q = k
        while q < n && !toks[q].has(Token.sentenceEnd) { q += 1 }
        if q < n && toks[q].has(Token.question) { return false }
        var j = i - 1
        while j >= 0 && j >= i - 3 && !toks[j].has(Token.boundaryAfter) {
            if toks[j].has(Token.negator) { return false }
            if receiptVerbs.contains(toks[j].hash) {
                var b = j - 1
                while b >= 0 && b >= j - 2 && !toks[b].has(Token.boundaryAfter) {
                    if toks[b].has(Token.negator) || notReceivedWords.contains(toks[b].hash) { return false }
                    b -= 1
                }
                return true
            }
            j -= 1
        }
        return false
    }

    /// Whether the words after a complaint rule's hit on a manager or head office give it a praising purpose:
    /// "asked to speak to the manager to thank her", "write to head office to praise your team". Other complaints
    /// keep theirs ("on hold for an hour to tell me nothing").
    static func praisePurpose(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, after end: Int) -> Bool {
        guard end + 1 < n, managerWords.contains(toks[end - 1].hash), !toks[end - 1].has(Token.boundaryAfter),
            toks[end].hash == TermHash.to
        else { return false }
        return praiseVerbs.contains(toks[end + 1].hash)
    }
    static let managerWords: Set<UInt64> = Set(
        ["manager", "supervisor", "managers", "office", "corporate", "relations"].map { TermHash.of($0) })
    static let praiseVerbs: Set<UInt64> = Set(
        ["thank", "compliment", "praise", "commend", "pass"].map { TermHash.of($0) })

    /// Words after a negation that negate no action or quality: "I've never been here before", "nothing to report",
    /// "no, nothing else", "not sure which size". Read as a negated verb, each made a neutral text a complaint.
    /// Articles are not among them: "not a single person helped" is one. (A "but" before praise is handled apart:
    /// "nothing but praise" is none, "nothing but excuses" one.)
    static let negationFillers: Set<UInt64> = Set(
        [
            "be", "been", "being", "to", "else", "sure", "that", "this", "it", "i", "we", "you",
            "only", "just", "all", "yet", "in", "at", "for", "with", "from", "about", "as", "of",
            "so", "too", "more", "much", "many", "other", "another", "any", "before", "ever",
        ].map { TermHash.of($0) })

    /// Sum of complaint cue weights in a text and the strongest cue's token range.
    func complaintCues(
        _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int
    ) -> (score: Float, start: Int, end: Int) {
        var score: Float = 0
        var best: Float = 0
        var bs = -1
        var be = -1
        @inline(__always) func add(_ w: Float, _ s: Int, _ e: Int) {
            score += w
            if w > best { best = w; bs = s; be = e }
        }
        var i = 0
        // Tokens before this index deny a problem ("never had any problems") and signal nothing.
        var deniedUntil = 0
        while i < n {
            let h = toks[i].hash
            if ProblemDenial.negates(toks[i]), let k = ProblemDenial.deniedNoun(toks, n, after: i) {
                deniedUntil = k + 1
            }
            // denied, or inside a praise phrase ("can't go wrong", "can't wait to go back")
            if i < deniedUntil || toks[i].has(Token.praisePhrase) {
                i += 1
                continue
            }
            let k = toks[i].entry(.cueWord, else: cueWords.get(h))
            if k >= 0 { add(cueWeights[Int(k)], i, i + 1) }
            let ph = toks[i].entry(.cueHead, else: cueHeads.get(h))
            if ph >= 0 && i + 1 < n && ph & Self.cueNextBit(toks[i + 1].hash) != 0 {
                var key = h
                var j = i + 1
                while j < n && j - i < Int(ph & 7) {
                    if toks[j - 1].has(Token.boundaryAfter) { break }
                    key = TermHash.combine(key, toks[j].hash)
                    let p = cuePhrases.get(key)
                    if p >= 0 { add(cueWeights[Int(p)], i, j + 1) }
                    j += 1
                }
            }
            // a negated verb or a negated positive word ("doesn't close", "would not recommend")
            if toks[i].has(Token.negator) && i + 1 < n && !toks[i].has(Token.boundaryAfter)
                && toks[i + 1].has(Token.letters)
            {
                var j = i + 1
                if j + 1 < n && !toks[j].has(Token.boundaryAfter) && !toks[j].has(Token.negator)
                    && toks[j].hash != TermHash.but && toks[j].hash != TermHash.else && toks[j + 1].has(Token.letters)
                    && toks[j].length <= 4 && toks[j + 1].has(Token.positive)
                {
                    j += 1  // "not very good", "not that great"
                }
                if toks[j].has(Token.positive) {
                    add(1.0, i, j + 1)
                } else if toks[j].hash == TermHash.but {
                    // "nothing but praise" praises; "nothing but excuses" complains
                    if j + 1 >= n || !toks[j + 1].has(Token.positive) { add(0.75, i, j + 1) }
                } else if !Self.negationFillers.contains(toks[j].hash) {
                    add(0.75, i, j + 1)
                }
            }
            i += 1
        }
        return (score, bs, be)
    }
}

/// A 256-bit Bloom-style set of word hashes: enough to tell that a text lacks every word of a set.
struct WordSignature: Sendable {
    var a: UInt64 = 0
    var b: UInt64 = 0
    var c: UInt64 = 0
    var d: UInt64 = 0

    /// The signature that intersects every non-empty one.
    static let all = WordSignature(a: ~0, b: ~0, c: ~0, d: ~0)

    mutating func formUnion(_ o: WordSignature) {
        a |= o.a
        b |= o.b
        c |= o.c
        d |= o.d
    }

    @inline(__always)
    mutating func insert(_ hash: UInt64) {
        let x = UInt64(TermTable.home(hash, 56))  // 0..<256
        let bit = UInt64(1) << (x & 63)
        // The lane as masks, without comparisons: the compiler turned `lane == k ? bit : 0` into a jump table,
        // an indirect jump per word that the lane's randomness made mispredict.
        let lane = UInt64(1) << (x >> 6)
        a |= bit & (0 &- (lane & 1))
        b |= bit & (0 &- ((lane >> 1) & 1))
        c |= bit & (0 &- ((lane >> 2) & 1))
        d |= bit & (0 &- (lane >> 3))
    }

    /// Whether `hash` may have been inserted (false: it certainly was not).
    @inline(__always)
    func contains(_ hash: UInt64) -> Bool {
        let x = TermTable.home(hash, 56)  // 0..<256
        // The lane read at its offset (`a` to `d` lie in order, x >> 6 is 0...3): of a signature in memory (a head
        // filter's, a candidate's, an op's), the lane masks of `insert` compiled to a conditional load per lane,
        // branches that mispredicted as the lane changed. -0.03 to -0.04 us per event on the enrichment path.
        let word = withUnsafeBytes(of: self) { $0.load(fromByteOffset: (x >> 6) &* 8, as: UInt64.self) }
        return word & (UInt64(1) << UInt64(x & 63)) != 0
    }

    @inline(__always)
    func intersects(_ o: WordSignature) -> Bool { (a & o.a) | (b & o.b) | (c & o.c) | (d & o.d) != 0 }

    var bitCount: Int { a.nonzeroBitCount + b.nonzeroBitCount + c.nonzeroBitCount + d.nonzeroBitCount }
}
