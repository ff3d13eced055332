import Testing

@testable import CXInsight

/// The tokenizer hashes each byte of a word as it reads it, and holds punctuation inside a token back until a later
/// byte shows it belongs to the word. These are the cases where that could go wrong: contractions straight and
/// curly, punctuation inside, before and after words, numbers, links, handles, accents, emoji and long runs. The expected
/// tokens are those of the two-pass tokenizer this one replaced, except where marks between words now end the first.
@Suite struct TokenizerTests {
    /// A run of 12 equal bytes is found wherever it starts and however long the text around it, and 11 are not a run:
    /// the pre-check that skips texts without a uniform four-byte block must not skip one that has it. (Testing the
    /// blocks two at a time in eight-byte words measured no faster.)
    @Test(arguments: [11, 12, 13, 20])
    func longRunsAreFoundAtEveryOffset(runLength: Int) {
        for offset in 0..<24 {
            for tail in [0, 1, 5, 9] {
                let filler = { (n: Int) in (0..<n).map { UInt8(ascii: $0 % 2 == 0 ? "b" : "c") } }
                let text = filler(offset) + [UInt8](repeating: UInt8(ascii: "a"), count: runLength) + filler(tail)
                let found = text.withUnsafeBufferPointer { Tokenizer.hasLongRun($0, ascii: true) }
                #expect(found == (runLength >= 12), "run of \(runLength) at \(offset), \(tail) bytes after")
            }
        }
    }

    enum Flag: CaseIterable {
        case upper, negContraction, boundaryAfter, sentenceEnd, number, emoji, letters, sentenceStart, question
        case hasDigit, explicitStop, mention

        var bit: UInt16 {
            switch self {
            case .upper: Token.upper
            case .negContraction: Token.negContraction
            case .boundaryAfter: Token.boundaryAfter
            case .sentenceEnd: Token.sentenceEnd
            case .number: Token.number
            case .emoji: Token.emoji
            case .letters: Token.letters
            case .sentenceStart: Token.sentenceStart
            case .question: Token.question
            case .hasDigit: Token.hasDigit
            case .explicitStop: Token.explicitStop
            case .mention: Token.mention
            }
        }
    }

    struct Expected: Sendable {
        var word: String
        var flags: [Flag]
        /// Whether the token also carries the hash of its raw form (hashtags, emoticons, short words before
        /// punctuation).
        var alt = false

        init(_ word: String, _ flags: [Flag], alt: Bool = false) {
            self.word = word
            self.flags = flags
            self.alt = alt
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var text: String
        var tokens: [Expected]
        /// Exclamation and question marks.
        var marks: [Int]
        var urls: Int
        var otherScalars: Int
        var longRun: Bool

        init(
            _ text: String, _ tokens: [Expected], marks: [Int], urls: Int, otherScalars: Int, longRun: Bool = false
        ) {
            self.text = text
            self.tokens = tokens
            self.marks = marks
            self.urls = urls
            self.otherScalars = otherScalars
            self.longRun = longRun
        }

        var testDescription: String { text }
    }

    static let cases: [Case] = [
        // Tokens of letters and digits only between spaces, tabs and newlines: the tokenizer writes these without its
        // general loop (a word that starts with "http" and is long enough still counts as a link). A newline ends a
        // sentence.
        Case(
            "WOW 42 ok3 Mixed\thttpsfoo\nend",
            [
                .init("WOW", [.upper, .letters, .sentenceStart]),
                .init("42", [.number, .hasDigit]),
                .init("ok3", [.letters, .hasDigit]),
                .init("Mixed", [.letters]),
                .init("httpsfoo", [.letters, .mention, .boundaryAfter, .sentenceEnd]),
                .init("end", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart]),
            ],
            marks: [0, 0], urls: 1, otherScalars: 0),
        Case(
            "don't stop",
            [
                .init("don't", [.negContraction, .letters, .sentenceStart]),
                .init("stop", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "DON’T stop!",
            [
                .init("DON’T", [.upper, .negContraction, .letters, .sentenceStart]),
                .init("stop", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop]),
            ],
            marks: [1, 0], urls: 0, otherScalars: 1),
        Case(
            "e-mail me!!",
            [
                .init("e-mail", [.letters, .sentenceStart]),
                .init("me", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop], alt: true),
            ],
            marks: [2, 0], urls: 0, otherScalars: 0),
        Case(
            "... :) ok",
            [
                .init("...", [.sentenceStart]),
                .init(":)", []),
                .init("ok", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "#retail! @store hi",
            [
                .init("retail", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop], alt: true),
                .init("store", [.letters, .sentenceStart, .mention], alt: true),
                .init("hi", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [1, 0], urls: 0, otherScalars: 0),
        Case(
            "3.5 $12.99 1,000 3-4",
            [
                .init("3.5", [.number, .sentenceStart, .hasDigit]),
                .init("12.99", [.number, .hasDigit], alt: true),
                .init("1,000", [.number, .hasDigit]),
                .init("3-4", [.boundaryAfter, .sentenceEnd, .hasDigit]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "http://x.com/a?b www.x.com.",
            [
                .init("http://x.com/a?b", [.letters, .sentenceStart, .mention]),
                .init("www.x.com", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop, .mention]),
            ],
            marks: [0, 1], urls: 2, otherScalars: 0),
        Case(
            "naïve café’s",
            [
                .init("naïve", [.letters, .sentenceStart]),
                .init("café’s", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 3),
        Case(
            "won't, ’tis",
            [
                .init("won't", [.negContraction, .boundaryAfter, .letters, .sentenceStart]),
                .init("’tis", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 1),
        Case(
            "(the) [end]",
            [
                .init("the", [.boundaryAfter, .letters, .sentenceStart], alt: true),
                .init("end", [.boundaryAfter, .sentenceEnd, .letters], alt: true),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "I CAN'T. AbC",
            [
                .init("I", [.upper, .letters, .sentenceStart]),
                .init("CAN'T", [.upper, .negContraction, .boundaryAfter, .sentenceEnd, .letters, .explicitStop]),
                .init("AbC", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "x🎉y \u{200D}z",
            [
                .init("x", [.letters, .sentenceStart]),
                .init("🎉", [.emoji]),
                .init("y", [.letters]),
                .init("z", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "sooooooooooooo good!!!!!!!!!!!!",
            [
                .init("sooooooooooooo", [.letters, .sentenceStart]),
                .init("good", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop]),
            ],
            marks: [12, 0], urls: 0, otherScalars: 0, longRun: true),
        Case(
            "soooooooooo ok",
            [
                .init("soooooooooo", [.letters, .sentenceStart]),
                .init("ok", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "ok 😀😀😀😀😀😀😀😀😀😀😀😀",
            [.init("ok", [.letters, .sentenceStart])] + Array(repeating: .init("😀", [.emoji]), count: 11)
                + [.init("😀", [.emoji, .boundaryAfter, .sentenceEnd])],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case("", [], marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "?!", [.init("?!", [.boundaryAfter, .sentenceEnd, .sentenceStart])], marks: [1, 1], urls: 0, otherScalars: 0
        ),
        // A mark between words ends the first one: customers leave out the space after it.
        Case(
            "a!b",
            [
                .init("a", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop], alt: true),
                .init("b", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart]),
            ],
            marks: [1, 0], urls: 0, otherScalars: 0),
        Case(
            "great...no problems",
            [
                .init("great", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop]),
                .init("no", [.letters, .sentenceStart]),
                .init("problems", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "ok,not good",
            [
                .init("ok", [.boundaryAfter, .letters, .sentenceStart], alt: true),
                .init("not", [.letters]),
                .init("good", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0),
        Case(
            "bad.Food café,très",
            [
                .init("bad", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop]),
                .init("Food", [.letters, .sentenceStart]),
                .init("café", [.boundaryAfter, .letters]),
                .init("très", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 2),
        Case(
            "Café.Great",
            [
                .init("Café", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop]),
                .init("Great", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 1),
        // ... but not inside abbreviations, numbers, domains, paths and links.
        Case(
            "amazon.com/dp/B01?tag=x www.Amazon.com",
            [
                .init("amazon.com/dp/B01?tag=x", [.letters, .sentenceStart, .hasDigit]),
                .init("www.Amazon.com", [.boundaryAfter, .sentenceEnd, .letters, .mention]),
            ],
            marks: [0, 1], urls: 1, otherScalars: 0),
        Case(
            "e.g. U.S. amazon.com 1,5 x.Y http://a.b/c?D",
            [
                .init("e.g", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop]),
                .init("U.S", [.upper, .boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop]),
                .init("amazon.com", [.letters, .sentenceStart]),
                .init("1,5", [.number, .hasDigit]),
                .init("x", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop], alt: true),
                .init("Y", [.upper, .letters, .sentenceStart]),
                .init("http://a.b/c?D", [.boundaryAfter, .sentenceEnd, .letters, .mention]),
            ],
            marks: [0, 1], urls: 1, otherScalars: 0),
        // A word of three or more letters or digits, one mark, then a space or the end: the fast path writes it.
        Case(
            "Great service, thanks! Is it open? Yes: fine; Done. Room 101. ok.",
            [
                .init("Great", [.letters, .sentenceStart]),
                .init("service", [.boundaryAfter, .letters]),
                .init("thanks", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop]),
                .init("Is", [.letters, .sentenceStart]),
                .init("it", [.letters]),
                .init("open", [.boundaryAfter, .sentenceEnd, .letters, .question]),
                .init("Yes", [.boundaryAfter, .letters, .sentenceStart]),
                .init("fine", [.boundaryAfter, .letters]),
                .init("Done", [.boundaryAfter, .sentenceEnd, .letters, .explicitStop]),
                .init("Room", [.letters, .sentenceStart]),
                .init("101", [.boundaryAfter, .sentenceEnd, .number, .hasDigit, .explicitStop]),
                .init("ok", [.boundaryAfter, .sentenceEnd, .letters, .sentenceStart, .explicitStop], alt: true),
            ],
            marks: [1, 1], urls: 0, otherScalars: 0),
        Case(
            "ab aaaaaaaaaaaa",
            [
                .init("ab", [.letters, .sentenceStart]),
                .init("aaaaaaaaaaaa", [.boundaryAfter, .sentenceEnd, .letters]),
            ],
            marks: [0, 0], urls: 0, otherScalars: 0, longRun: true),
    ]

    @Test(arguments: cases)
    func tokens(_ c: Case) {
        let bytes = Array(c.text.utf8)
        var stats = TextStats()
        let tokens = bytes.withUnsafeBufferPointer { buf in
            withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
                Array(toks[0..<Tokenizer.tokenize(buf, into: toks, stats: &stats)])
            }
        }
        #expect(
            tokens.map { String(decoding: bytes[Int($0.start)..<Int($0.end)], as: UTF8.self) } == c.tokens.map(\.word))
        for (t, e) in zip(tokens, c.tokens) {
            #expect(t.flags == e.flags.reduce(0) { $0 | $1.bit }, "flags of \(e.word)")
            #expect((t.altHash != 0) == e.alt, "raw form of \(e.word)")
            if !t.has(Token.emoji) { #expect(t.hash == TermHash.of(e.word), "hash of \(e.word)") }
        }
        #expect([stats.exclamations, stats.questions] == c.marks)
        #expect(stats.letters == c.tokens.filter { $0.flags.contains(.letters) }.count)
        #expect(stats.urls == c.urls)
        #expect(stats.otherScalars == c.otherScalars)
        #expect(stats.longRun == c.longRun)
    }
}
