import CXCore
import Testing

@testable import CXInsight

/// The engine resolves each word once, in its vocabulary, and every analyser reads the record it copies into the token
/// instead of its own table: the record must say exactly what each table says, for words in the tables and for words
/// in none.
@Suite struct VocabularyTests {
    static func tokens(_ text: String) -> [Token] {
        withTokens(text, resolved: true) { toks, n, _ in Array(toks[0..<n]) }
    }

    @Test func everyRecordAgreesWithTheAnalysersTables() throws {
        let core = engine.core
        var texts = try corpusLines("sentiment_intents").map { $0[3] }
        texts += ["zzqx unknownword 😡 :) #fail @united www.example.com DON’T forty 45min"]
        var words = 0
        var absent = 0
        core.vocabulary.records.withUnsafeBufferPointer { R in
            for text in texts {
                for t in Self.tokens(text) {
                    // What the analysers read: the token's copy of its record.
                    let r = t.fields
                    words += 1
                    let key = R[Int(t.term)].key
                    if key == 0 { absent += 1 } else { #expect(key == t.hash) }
                    #expect(r[.lexicon] == core.lexicon.table.get(t.hash), "\(text)")
                    #expect(r[.intentHead] == core.intents.heads.get(t.hash))
                    #expect(r[.numberWord] == IntentDetector.numberWords.get(t.hash))
                    #expect(r[.cueWord] == core.intents.cueWords.get(t.hash))
                    #expect(r[.cueHead] == core.intents.cueHeads.get(t.hash))
                    #expect(r[.themeWord] == core.themes.words.get(t.hash))
                    #expect(r[.themeHead] == core.themes.phraseHeads.get(t.hash))
                    #expect(r[.quality] == core.quality.combined.get(t.hash))
                }
            }
        }
        #expect(words > 3000)
        #expect(absent > 0 && absent < words)
    }

    @Test func aTableTooLargeForTheRecordsIsRefused() {
        var big = TermTable()
        big.set(TermHash.of("queue"), 40_000)
        var vocabulary = Vocabulary()
        #expect(throws: Vocabulary.TooLarge.self) { try vocabulary.add(big, .themeWord) }
    }

    /// The tokenizer classifies bytes by table; these are the flags the analysers depend on.
    @Test(arguments: [
        ("DON'T", Token.upper | Token.negContraction | Token.letters),
        ("don’t", Token.negContraction | Token.letters),
        ("45", Token.number | Token.hasDigit),
        ("12,50", Token.number | Token.hasDigit),
        ("15min", Token.hasDigit | Token.letters),
        ("Q4-ish", Token.hasDigit | Token.letters),
    ])
    func wordFlags(word: String, flags: UInt16) {
        let toks = Self.tokens("so " + word + " ok")
        let kinds = Token.upper | Token.negContraction | Token.letters | Token.number | Token.hasDigit
        #expect(toks.count == 3)
        #expect(toks[1].flags & kinds == flags, "\(word)")
    }

    @Test func curlyAndStraightApostrophesHashAlike() {
        #expect(Self.tokens("don’t")[0].hash == Self.tokens("DON'T")[0].hash)
        #expect(Self.tokens("don’t")[0].hash == TermHash.of("don't"))
    }
}
