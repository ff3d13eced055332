import CXCore
import Foundation
import Testing
@testable import CXInsight

/// The VADER-style rules, one family at a time.
@Suite struct SentimentTests {
    func c(_ t: String) -> Double { engine.sentiment(t).compound }
    /// The lexicon scorer's reading of `t` alone, without the engine's intents and priors.
    func scored(_ t: String) -> SentimentScorer.Scored {
        withTokens(t) { toks, n, stats in engine.scorer.score(toks, n, stats) }
    }

    /// The bundled lexicon's multi-word entries and their valences, as the file lists them.
    func lexiconPhrases() throws -> [(phrase: String, valence: Float)] {
        let file = String(decoding: try InsightResources.load("sentiment_lexicon", "tsv"), as: UTF8.self)
        return file.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t")
            guard !line.hasPrefix("#"), fields.count >= 2, fields[0].contains(" "), let v = Float(fields[1]) else {
                return nil
            }
            return (String(fields[0]), v)
        }
    }

    @Test func lexiconFileCarriesVersionAndAttribution() throws {
        let lex = try SentimentLexicon.bundled()
        #expect(lex.version == "2024.12-cx20")
        #expect(InsightEngine.modelVersion.hasSuffix("+lexicon-\(lex.version)"))
        #expect(lex.entryCount > 7_500)
        let text = String(decoding: try InsightResources.load("sentiment_lexicon", "tsv"), as: UTF8.self)
        #expect(text.contains("The MIT License"))
        #expect(text.contains("C.J. Hutto"))
        #expect(lex.valence(of: "overpriced")! < 0)
        #expect(lex.valence(of: "😡")! < 0)
    }

    @Test func rangeAndShares() {
        for t in ["", "ok", "GREAT!!!! LOVE IT!!!! BEST EVER", "worst worst worst awful horrible!!!!", "🙂😡"] {
            let s = engine.sentiment(t)
            #expect(s.compound >= -1 && s.compound <= 1)
            if !t.isEmpty { #expect(abs(s.positive + s.neutral + s.negative - 1) < 0.01) }
        }
    }

    /// A share or score of zero is +0: a negative zero printed as "-0" in `analyze` and took 5 stored bytes.
    @Test(arguments: [
        "The coffee fits perfectly. Best experience in a while.", "The parcel arrived on Tuesday.",
        "Awful, rude and slow.", "ok",
    ])
    func zeroesArePositiveZeroes(text: String) {
        let s = engine.sentiment(text)
        for value in [s.compound, s.positive, s.neutral, s.negative] where value == 0 {
            #expect(value.sign == .plus, "\(s)")
        }
        let packed = engine.analyzePacked([InsightInput(text: text)], scratch: InsightScratch())[0].enrichment.sentiment
        #expect(packed == s)
        for value in [packed.compound, packed.positive, packed.neutral, packed.negative] where value == 0 {
            #expect(value.sign == .plus, "\(packed)")
        }
    }

    @Test func negation() {
        #expect(c("The staff were helpful") > 0.3)
        #expect(c("The staff were not helpful") < -0.2)
        #expect(c("The staff weren’t helpful") < -0.2)  // curly apostrophe
        #expect(c("Not bad at all") > 0.2)
        #expect(c("Never disappointed here") > 0)
        // negation does not cross a clause boundary
        #expect(c("No, it was great") > 0.3)
    }

    @Test func boostersAndDampeners() {
        #expect(c("The service was very good") > c("The service was good"))
        #expect(c("The service was kind of good") < c("The service was good"))
        #expect(c("The service was slightly bad") > c("The service was bad"))
    }

    /// A booster that is also rated is scored where it boosts nothing.
    @Test func ratedBoostersScoreWhereTheyEndAClause() {
        #expect(c("The staff were incredible!") > 0.4)
        #expect(c("Incredible.") > 0.4)
        #expect(c("Service was not exceptional") < 0)
        // still boosters where they modify a rated word
        #expect(c("incredibly slow checkout") < c("slow checkout"))
        #expect(c("incredible delays at the checkout") < 0)
        #expect(c("so good") > c("good"))
        #expect(c("tremendous help from the staff") > c("help from the staff"))
    }

    /// Positive words in a question ask rather than praise; negative ones still complain.
    @Test func questionsDampenPraiseNotComplaint() {
        #expect(c("Is the flight on time?") < c("The flight is on time.") / 1.5)
        #expect(c("Any good deals for March?") < c("Good deals for March.") / 1.5)
        #expect(c("Why is the app so bad?") <= c("The app is so bad.") + 0.0001)
        #expect(c("Why is the app so bad?") < -0.3)
    }

    /// Praise that states no satisfaction: a situation's under "would" or "could", a counterfactual wish's, a
    /// request's thanks. Praise of the speaker's own feelings, well-wishing and thanks for something stay praise.
    @Test(arguments: [
        ("that would be great", "The service was great"),
        ("any help would be appreciated", "Your help was appreciated"),
        ("It would be nice if someone answered the phone", "It was nice that someone answered the phone"),
        ("I'd like a window seat", "I like the window seat"),
        ("Can you check my bag status? Thank you", "You checked my bag status. Thank you"),
        ("Please rebook me on the next flight, thanks", "You rebooked me on the next flight, thanks"),
    ])
    func hypotheticalAndCourteousPraiseIsNotSatisfaction(unmet: String, met: String) {
        #expect(abs(c(unmet)) < 0.05, "\(unmet): \(c(unmet))")
        #expect(c(met) > 0.25, "\(met): \(c(met))")
    }

    @Test func wishesAndKeptPraise() {
        #expect(c("I wish the staff were friendlier") < -0.2)
        #expect(c("I wish you had a better app") < -0.2)
        #expect(c("Wish you all the best") > 0.3)
        #expect(c("I would love to come back") > 0.3)
        #expect(c("I would be happy to recommend this place") > 0.3)
        #expect(c("Thanks for the quick help, can you also send the receipt?") > 0.3)
        #expect(c("It couldn't be better") > 0.3)
        #expect(c("I wish they did a better job") < -0.2)
        // a contraction carries its own subject: the praise before it stays
        #expect(c("The service was excellent, we'd come again") > 0.3)
        #expect(c("The service was excellent we'd come again") > 0.3)
        #expect(abs(c("Can you rebook me? Thanks a lot")) < 0.05)
        #expect(c("Thanks a lot for the quick rebooking") > 0.3)
    }

    /// "like" praises as a verb after its subject or an adverb, not as a preposition or a filler.
    @Test func likeAsAVerbOnly() {
        #expect(c("I like this place") > 0.2)
        #expect(c("We really like it") > 0.2)
        #expect(c("I don't like the food") < -0.2)
        #expect(c("The potatoes were like rubber") <= 0)
        #expect(c("There were like 5 strings of pasta") == 0)
    }

    @Test func hesitationToRecommend() {
        #expect(c("I would not hesitate to recommend it") > 0.2)
        #expect(c("I hesitate to recommend it") < -0.2)
    }

    /// Review words VADER lacks (lexicon 2024.12-cx8).
    @Test(arguments: [
        "The turkey was bland", "Sauce was tasteless", "The vegetables were undercooked", "Food was average at best",
        "I've had better bagels", "The service leaves a lot to be desired", "I will not return", "Total letdown",
        "DO NOT PURCHASE THIS PHONE", "Would not reccommend", "The headset was such a disapoinment",
    ])
    func reviewComplaintsScoreNegative(text: String) {
        #expect(c(text) < -0.1, "\(text): \(c(text))")
    }

    /// "never ... such" is emphasis, not negation, with a verb between too.
    @Test func neverSuchIntensifies() {
        #expect(c("I have never experienced such awful service") < c("The service was awful"))
        #expect(c("I have never had such friendly service") > c("The service was friendly"))
        #expect(c("Trust me, I have tried") == 0)
    }

    @Test func contrastiveBut() {
        #expect(c("The food was great but the service was terrible") < 0)
        #expect(c("The service was terrible but the food was great") > 0)
    }

    @Test func capsAndPunctuation() {
        #expect(c("The queue was TERRIBLE today") < c("The queue was terrible today"))
        #expect(c("Great service!!!") > c("Great service"))
        #expect(c("Why is this so bad??") < c("Why is this so bad"))
    }

    @Test func emojiAndEmoticons() {
        #expect(c("Delivery came 😍") > 0.3)
        #expect(c("Delivery came 😡") < -0.3)
        #expect(c("Delivery came 👎") < -0.2)
        #expect(c("arrived today :)") > 0.2)
        #expect(c("arrived today :(") < -0.2)
    }

    @Test func idiomsAndDomainPhrases() {
        #expect(c("worth every penny") > 0.4)
        #expect(c("total waste of money") < -0.4)
        #expect(c("Don't waste your money") < -0.3)
        #expect(c("Would not recommend") < -0.3)
        #expect(c("yeah right, next day delivery") < 0)
        #expect(c("Loved waiting in line #sarcasm") < 0)
        #expect(c("Feels like new") >= 0)
    }

    /// Review and service phrasing added in lexicon 2024.12-cx3: each text scored 0 or the wrong way without it.
    @Test(arguments: [
        ("Exactly as described and sturdy.", 1.0),
        ("Couldn't be happier with it.", 1.0),
        ("Gets the job done.", 1.0),
        ("You can't beat the price.", 1.0),
        ("Exactly what I wanted.", 1.0),
        ("A must have for every kitchen.", 1.0),
        ("Steer clear of this seller.", -1.0),
        ("Stay away from this one.", -1.0),
        ("Beware, counterfeit product.", -1.0),
        ("Money down the drain.", -1.0),
        ("Website down, can't access my account.", -1.0),
        ("Sound is tinny and garbled.", -1.0),
        ("So disapointed with this phone.", -1.0),
    ])
    func reviewAndServicePhrases(text: String, sign: Double) {
        #expect(c(text) * sign > 0.2, "\(text): \(c(text))")
    }

    /// The phrase filter (`WordInfo.nextWords`) skips only the probes that cannot match: every multi-word entry of
    /// the bundled lexicon, alone and inside sentences, scores as it does with the filter open.
    @Test func phraseFilterSkipsNoPhrase() throws {
        let lexicon = try SentimentLexicon.bundled()
        var open = lexicon
        for i in open.words.indices { open.words[i].nextWords = .max }
        let filtered = SentimentScorer(lexicon: lexicon)
        let unfiltered = SentimentScorer(lexicon: open)
        func score(_ scorer: SentimentScorer, _ text: String) -> Double {
            withTokens(text) { toks, n, stats in scorer.score(toks, n, stats).sentiment.compound }
        }
        let phrases = try lexiconPhrases().map(\.phrase)
        #expect(phrases.count > 200)
        // The filter does skip: most heads start few phrases, and "the" (a tenth of all words) is one.
        #expect(
            lexicon.words.contains { $0.flags & SentimentLexicon.phraseHead != 0 && $0.nextWords.nonzeroBitCount < 4 })
        for phrase in phrases {
            for text in [phrase, "Honestly \(phrase) today!", "the staff said \(phrase), but the rest was ok"] {
                #expect(score(filtered, text) == score(unfiltered, text), "\(text)")
            }
        }
    }

    /// A multi-word lexicon entry is one word of the text, as in VADER: its other words are not counted neutral.
    /// The scorer counts the neutral words as the tokens less the rated ones and the phrases' later words, without
    /// visiting the unrated tokens.
    @Test func phraseCountsAsOneWord() throws {
        let rated = try lexiconPhrases().filter { $0.valence != 0 }
        // Only the phrases scored whole when alone: a few are read otherwise by design ("so much fun" as a booster
        // and "fun").
        let whole = rated.filter { scored($0.phrase).rawSum == $0.valence }
        #expect(whole.count > 200)
        for (phrase, _) in whole {
            #expect(scored(phrase).neutral == 0, "\(phrase)")
            #expect(scored("Tuesday parcel \(phrase)").neutral == 2, "\(phrase)")
        }
    }

    /// Five-word entries are phrases like the others: the lexicon's loader once kept phrases of two to four words
    /// only, and these scored as their words ("could not have been better" as a negated "better", -0.34).
    @Test(
        arguments: [
            ("could not have been better", 2.5), ("could not ask for more", 2.5), ("does not do the job", -1.6),
            ("how you treat your customers", -2.3), ("this is how you treat", -2.5),
        ] as [(String, Float)])
    func fiveWordPhrasesScoreWhole(phrase: String, valence: Float) {
        let alone = scored(phrase)
        #expect(alone.rawSum == valence)
        #expect(alone.neutral == 0)
        #expect((c("On Tuesday, \(phrase).") > 0) == (valence > 0))
    }

    /// Review phrasing that is neutral in a service question or means something else in a store is left out.
    @Test(arguments: [
        "How do I return it for a different size?", "There were rocks in my salad", "I'm dying to try it",
    ])
    func ambiguousPhrasesStayUnrated(text: String) {
        #expect(abs(c(text)) < 0.05, "\(text): \(c(text))")
    }

    @Test func mentionsAndURLsAreNames() {
        // VADER scores "@united" as the word "united" (+1.8)
        #expect(c("@united I need to change my reservation to tomorrow") == 0)
        #expect(c("see https://great.example/best") == 0)
    }

    @Test func complaintPriorMovesNeutralComplaintsNegative() {
        let text = "I was charged twice for the same order"
        let e = engine.enrich(InsightInput(text: text)).enrichment
        #expect(e.intents.contains { $0.kind == .complaint })
        #expect(e.sentiment.compound <= -0.3)
        #expect(e.modelVersion == InsightEngine.modelVersion)
    }
}
