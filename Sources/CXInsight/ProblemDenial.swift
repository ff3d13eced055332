/// "No problems", "never had any real issues", "zero complaints": a negation that denies a problem. The complaint
/// detector does not count it, and sentiment scores it as praise however far the negation stands (VADER's window is
/// three words: "never had any large problems" read negative).
enum ProblemDenial {
    /// What a customer says there was none of when all went well (`noun`), and the words that may stand between
    /// the negation and the problem (`filler`): "never had any real problems", "not a single issue"; anything else
    /// ("never had so many problems") leaves the negation as it is. A `TermTable`, not a `Set`: it is asked about
    /// every word after a negation, and SipHash cost the enrichment path a few percent.
    static let words: TermTable = {
        var t = TermTable(minimumCapacity: 64)
        let kinds: [(Int32, [String])] = [
            (
                noun,
                [
                    "problem", "problems", "issue", "issues", "trouble", "troubles", "complaint", "complaints",
                    "hassle", "hassles", "glitch", "glitches", "fault", "faults", "defect", "defects", "regrets",
                    "qualms",
                ]
            ),
            (
                filler,
                [
                    "any", "a", "an", "single", "one", "real", "major", "big", "large", "serious", "significant", "had",
                    "have", "has", "got", "experienced", "encountered", "noticed", "seen", "found", "further", "more",
                ]
            ),
            (
                resolution,
                [
                    "resolved", "fixed", "solved", "answered", "addressed", "sorted", "handled", "acknowledged",
                    "dealt", "corrected", "refunded",
                ]
            ),
            (auxiliary, ["was", "were", "is", "are", "been", "being", "get", "yet", "ever", "even"]),
        ]
        for (kind, list) in kinds {
            for w in list { t.set(TermHash.of(w), kind) }
        }
        return t
    }()
    static let noun: Int32 = 1
    static let filler: Int32 = 2
    /// "Not a single issue was resolved" complains: the negation denies the resolution, not the problem.
    static let resolution: Int32 = 3
    static let auxiliary: Int32 = 4
    /// `TermHash.of("zero")` as a literal, so that the per-word tests read a constant instead of a lazy global:
    /// "zero issues" denies as "no issues" does, though "zero" is no negation elsewhere.
    static let zero: UInt64 = 0x2229_e861_3760_a383

    /// Whether `t` can deny a problem: a negation, or "zero".
    @inline(__always)
    static func negates(_ t: Token) -> Bool { t.has(Token.negator) || t.hash == zero }

    /// The problem noun a negation at `i` denies, within four words of its clause, or nil.
    static func deniedNoun(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, after i: Int) -> Int? {
        var j = i + 1
        while j < n && j <= i + 4 && !toks[j - 1].has(Token.boundaryAfter) {
            let kind = words.get(toks[j].hash)
            if kind == noun { return resolutionFollows(toks, n, j) ? nil : j }
            guard kind == filler else { return nil }
            j += 1
        }
        return nil
    }

    /// Whether a resolution word follows the problem noun at `j` in its clause ("issues resolved", "problem was
    /// fixed"), with only auxiliaries and fillers between.
    static func resolutionFollows(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, _ j: Int) -> Bool {
        var k = j + 1
        while k < n && k <= j + 4 && !toks[k - 1].has(Token.boundaryAfter) {
            let kind = words.get(toks[k].hash)
            if kind == resolution { return true }
            guard kind == auxiliary || kind == filler else { return false }
            k += 1
        }
        return false
    }

    /// Whether a negation in `toks[from..<to]` denies a problem: "never had any" is a complaint before "response"
    /// but not before "problems".
    static func denies(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, from: Int, to: Int) -> Bool {
        for k in from..<to where negates(toks[k]) {
            if deniedNoun(toks, n, after: k) != nil { return true }
        }
        return false
    }

    /// Whether the word at `i` is a problem that a negation before it denies.
    static func isDenied(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int, at i: Int) -> Bool {
        guard words.get(toks[i].hash) == noun, !resolutionFollows(toks, n, i) else { return false }
        var j = i - 1
        while j >= 0 && j >= i - 4 && !toks[j].has(Token.boundaryAfter) {
            if negates(toks[j]) { return true }
            guard words.get(toks[j].hash) == filler else { return false }
            j -= 1
        }
        return false
    }
}
