import CXCore
import Testing
@testable import CXInsight

/// Praise said in irony (model 1.19.0): "Great, another cancelled flight" read word by word was praise, or at best a
/// mild complaint; set against the problem it introduces it is a complaint, and its praise words count against it.
@Suite struct IronyTests {
    func analysis(_ t: String) -> (compound: Double, kinds: Set<Enrichment.Intent.Kind>) {
        let e = engine.enrich(InsightInput(text: t)).enrichment
        return (e.sentiment.compound, Set(e.intents.map(\.kind)))
    }

    /// The tokens `Irony.span` reads as irony for the text's first complaint rule hit (nil: none, or no irony).
    func irony(_ text: String) -> Range<Int>? {
        withTokens(text, resolved: true) { toks, n, stats in
            _ = engine.scorer.score(toks, n, stats)
            var complaint = 0..<0
            engine.core.intents.hits(toks, n, questionMark: stats.questions > 0) { h in
                if h.kind == .complaint && complaint.isEmpty { complaint = h.start..<h.end }
            }
            return complaint.isEmpty ? nil : Irony.span(toks, n, complaint: complaint)
        }
    }

    /// Each frame, in the single-text and the batch path alike: a complaint, no praise, a negative score.
    @Test(arguments: [
        "Great, another cancelled flight",
        "Oh perfect. The app crashed at checkout.",
        "Lovely, the food was cold",
        "Awesome, the kiosk ate my card",
        "Amazing, my flight got cancelled and nobody called",
        "Cool, another late delivery",
        "Excelent, another cancelled flight",
        "Love how nobody answers the phone",
        "I love waiting in line for an hour",
        "Just love it when the kiosk eats my card",
        "Gotta love airlines that lose my bags",
        "Got to love being put on hold for an hour",
        "I'm so glad I just waited on the phone for over an hour",
        "Nice job losing my luggage",
        "Thanks for losing my bag",
        "yeah thanks a lot for cancelling my flight",
        "Great, yet another broken promise from customer service",
        "Awesome, the self checkout ate my card",
        "Great, thanks a lot for the double charge",
        "Wonderful, nobody called back",
        "Thanks for the great customer service, NOT",
        "@USAirways thanks for the 3 hour delay and the warm pretzels",
        "thank you for another delayed flight",
    ])
    func ironicPraiseIsAComplaint(text: String) {
        let a = analysis(text)
        #expect(a.kinds.contains(.complaint), "\(text)")
        #expect(!a.kinds.contains(.praise), "\(text)")
        #expect(a.compound < -0.05, "\(text): \(a.compound)")
        let batch = engine.analyzePacked([InsightInput(text: text)], scratch: InsightScratch())
        #expect(batch[0].enrichment.sentiment.compound == a.compound)
    }

    /// Sincere praise keeps its praise: no problem after it, or a problem put right.
    @Test(arguments: [
        "Love how fast the delivery was",
        "I love it when the staff remember my name",
        "Great, I got my refund",
        "Wonderful! My parcel arrived early",
        "Perfect, thanks for sorting my order",
        "Thanks for the quick delivery, arrived a day early",
    ])
    func sincerePraiseStaysPraise(text: String) {
        let a = analysis(text)
        #expect(a.kinds.contains(.praise), "\(text)")
        #expect(a.compound > 0.05, "\(text): \(a.compound)")
    }

    /// Beside a problem, praise is irony only in the frames: a contrast makes a mixed review, a remedy makes thanks,
    /// praise in another sentence than the problem (other than an opener alone) stays, and so does praise of the
    /// thing itself ("Great food, slow service"), a past love ("used to love") and a thanks for help with it.
    @Test(arguments: [
        "Great food but a long wait",
        "Great staff, though the queue was long",
        "Great! They replaced my damaged item within a day",
        "Great service today. My order was late though",
        "Yay, the pharmacist was super helpful. The app crashed at checkout",
        "Great food, slow service",
        "I used to love this place, now the service is awful",
        "Not great, my order was late again",
        "Thanks for the update on my delayed flight",
        "Thanks for the quick refund on my cancelled flight",
        "Thanks for the help with my lost bag",
        "So glad I waited for the sale",
    ])
    func praiseBesideAProblemIsNotIronyOutsideTheFrames(text: String) {
        #expect(irony(text) == nil, "\(text)")
    }

    /// Sincere texts a read-only review found read as irony by the first form of this change (praise of how a
    /// problem was handled, a problem that went away, praise in a later clause, thanks for the news of a delay):
    /// none is irony, and those that praised keep their praise and a positive score.
    @Test(arguments: [
        ("Love how friendly the staff are, we waited for an hour to be seated", true),
        ("Love how fast the delivery was, one item was missing", true),
        ("So glad we waited an hour for a table, best meal of the trip!", false),
        ("Love that another delayed flight means extra miles for me, nice perk", true),
        ("Great, the missing parcel just arrived!", false),
        ("Awesome, the lost bag was delivered to my hotel", false),
        ("Love how they handled my lost luggage claim", false),
        ("Thanks a lot for putting me on hold while you checked, problem solved", false),
    ])
    func sincereLookAlikesAreNoIrony(text: String, praise: Bool) {
        #expect(irony(text) == nil, "\(text)")
        if praise {
            let a = analysis(text)
            #expect(a.kinds.contains(.praise), "\(text)")
            #expect(a.compound > 0.05, "\(text): \(a.compound)")
        }
    }

    /// Irony turns only its own words: praise in an earlier sentence stands, and a thanks for news of a delay or a
    /// negated thanks ("can't thank you enough for delaying the flight so we could connect") is no complaint.
    @Test func ironyLeavesOtherPraiseAlone() {
        let bare = analysis("Great, another delayed flight.")
        let praised = analysis("The staff at the gate were wonderful and very helpful. Great, another delayed flight.")
        #expect(bare.compound < -0.05)
        #expect(praised.kinds.contains(.praise))
        #expect(praised.compound > bare.compound + 0.5)
        for text in [
            "Thanks for the delay notification, very helpful",
            "I can't thank you enough for delaying the flight so we could make our connection",
        ] {
            let a = analysis(text)
            #expect(!a.kinds.contains(.complaint), "\(text)")
            #expect(a.compound > 0.05, "\(text): \(a.compound)")
        }
    }

    /// The irony runs from its frame to the end of the problem it praises: praise after that stands.
    @Test func ironySpansItsFrameAndProblem() {
        let text = "Great, another cancelled flight. The crew were lovely"
        #expect(irony(text) == 0..<3)
        #expect(irony("Oh great, delayed again") == 0..<4)
        #expect(irony("I really love how nobody answers") == 2..<6)
        #expect(analysis("Great, another cancelled flight").compound < analysis(text).compound)
    }
}

/// Review verdicts VADER leaves unrated or reads wrong (lexicon 2024.12-cx13, rules 2024.12-cx11): eagerness to come
/// back and "can't go wrong" were complaints (their negation and "wrong" counted as complaint cues), a hidden gem or a
/// dish that hit the spot scored nothing, and so did food that was dry or overrated, or portions that were tiny.
/// Lexicon 2024.12-cx17: review vocabulary (flavorful, out of this world, two thumbs up, over rated), coming back,
/// slang intensifiers ("scary good"), and "no charge" or "never let me down", whose negation was a complaint cue.
/// Lexicon 2024.12-cx18: what a thing lacks ("lacks charm"), praise that holds a negation ("never ceases to amaze",
/// "nothing short of amazing"), and review words for films and books.
@Suite struct ReviewLanguageTests {
    @Test(arguments: [
        ("I can't wait to go back.", 1, nil),
        ("Can't wait to come back", 1, nil),
        ("A hidden gem.", 1, Enrichment.Intent.Kind.praise),
        ("Hit the spot.", 1, .praise),
        ("The cake melts in your mouth.", 1, .praise),
        ("Works as advertised.", 1, .praise),
        ("Exactly what I needed.", 1, .praise),
        ("The staff went out of their way to help.", 1, .praise),
        ("Highly recommended.", 1, .praise),
        ("Worth the wait.", 1, nil),
        ("I'm hooked.", 1, nil),
        ("I left hungry.", -1, nil),
        ("Nothing special.", -1, .complaint),
        ("The chicken was dry.", -1, .complaint),
        ("The meat was pretty dry", -1, .complaint),
        ("The portions were tiny for the price.", -1, .complaint),
        ("Tiny portions and slow service", -1, .complaint),
        ("Not worth the wait.", -1, nil),
        ("I can't wait any longer for my refund", -1, nil),
        ("You can't go wrong here.", 1, nil),
        ("You cant go wrong with any of the food", 1, nil),
        ("A must try!", 1, nil),
        ("Reasonably priced.", 1, nil),
        ("They knocked it out of the park.", 1, nil),
        ("Service went downhill after the new manager arrived.", -1, nil),
        ("This place has gone downhill.", -1, nil),
        ("The soup lacked flavor.", -1, nil),
        ("Totally overrated.", -1, nil),
        ("They must try harder.", -1, nil),
        ("shout out to the gate agent", 1, .praise),
        ("The Greek dressing was creamy and flavorful.", 1, nil),
        ("The garlic naan is out of this world.", 1, nil),
        ("Two thumbs up!", 1, nil),
        ("Top-notch service", 1, nil),
        ("We'll be back for the short rib, no question.", 1, nil),
        ("I dont think I will be back for a very long time.", -1, nil),
        ("@chipotle you guys never let me down", 1, nil),
        ("discover weekly is scary good this week", 1, nil),
        ("Upgraded us to a lake view room for no charge, can't thank her enough.", 1, .praise),
        ("Service was a bit slow but the food more than made up for it.", 1, nil),
        ("Over rated.", -1, nil),
        ("The potatoes were rubbery and greasy.", -1, nil),
        ("Eww, cramped seats again", -1, nil),
        ("The movie lacks charm.", -1, nil),
        ("The sauce was lacking any real flavor", -1, nil),
        ("Kieslowski never ceases to amaze me.", 1, nil),
        ("Your 1K team has been nothing short of amazing.", 1, nil),
        ("Never fails to disappoint.", -1, nil),
        ("A film not easily forgotten.", 1, nil),
        ("This is an extraordinary film.", 1, nil),
        ("Long, whiny and pointless.", -1, nil),
        ("A bit predictable.", -1, nil),
        ("Very unsatisfactory", -1, nil),
        ("No lack of friendly staff here!", 1, nil),
        ("It doesn't lack great features", 1, nil),
        ("It never ceases to amaze me how bad this airline is", -1, nil),
        ("Battery holds no charge after a month", -1, .complaint),
        ("They said my car will be back by 5, it's 8pm and no call", -1, nil),
        ("Nobody does it better", 1, nil),
        ("Delays here are legendary. 3 hours again", -1, .complaint),
        ("The couch is comfy but the delivery guys scratched the floor", -1, .complaint),
    ])
    func reviewVerdicts(text: String, sign: Int, kind: Enrichment.Intent.Kind?) {
        let e = engine.enrich(InsightInput(text: text)).enrichment
        let c = e.sentiment.compound
        #expect(sign > 0 ? c >= 0.05 : c <= -0.05, "\(text): \(c)")
        let kinds = Set(e.intents.map(\.kind))
        #expect(!kinds.contains(sign > 0 ? .complaint : .praise), "\(text): \(kinds)")
        if let kind { #expect(kinds.contains(kind), "\(text): \(kinds)") }
    }
}

/// An intent that the strongest word of a text sets names the whole lexicon phrase that word opens, and the negation
/// that turned a praise phrase into a complaint.
@Test(arguments: [
    ("I won't be back.", Enrichment.Intent.Kind.complaint, "won't be back"),
    ("The pasta was to die for.", .praise, "to die for"),
    ("1 star", .complaint, "1 star"),
    ("Sadly the tacos weren't to die for", .complaint, "weren't to die for"),
    ("The hotel was no hidden gem", .complaint, "no hidden gem"),
])
func sentimentIntentsNameTheirPhrase(text: String, kind: Enrichment.Intent.Kind, phrase: String) {
    let intents = engine.enrich(InsightInput(text: text)).enrichment.intents
    #expect(intents.first { $0.kind == kind }?.phrase == phrase, "\(text): \(intents)")
}

/// A rating written out scores as the rating ("9 out of 10"), a count written the same way does not ("9 out of 10
/// times", "8 out of 10 flights").
@Test(arguments: [
    ("All in all I give this one a resounding 9 out of 10.", 1),
    ("Rating: 1 out of 10.", -1),
    ("I give it 2 out of 10 because the staff were rude", -1),
    ("4 out of 5 stars", 1),
    ("9 out of 10 times it works", 0),
    ("9 out of 10 people use the kiosk", 0),
    ("0 out of 10 service", -1),
])
func ratingsWrittenOut(text: String, sign: Int) {
    let c = engine.enrich(InsightInput(text: text)).enrichment.sentiment.compound
    switch sign {
    case 1: #expect(c >= 0.05, "\(text): \(c)")
    case -1: #expect(c <= -0.05, "\(text): \(c)")
    default: #expect(c == 0, "\(text): \(c)")
    }
}

/// Praise of what a question asks for is no praise: "What's a good laptop?" is neutral; praise before the question stays.
@Test(arguments: [
    ("Whats a good laptop for college under $800?", false),
    ("I'll be back on Monday to pick up the rest of my order", false),
    ("Anyone know a good plumber in Austin?", false),
    ("@united what's the best way to get your tickets?", false),
    ("Is the food any good?", false),
    ("@united any chance you could rebook me?", false),
    ("The best staff ever! Is there a vegan option?", true),
    ("The food is good, what time do you close?", true),
])
func questionsAskForPraise(text: String, positive: Bool) {
    let c = engine.enrich(InsightInput(text: text)).enrichment.sentiment.compound
    if positive { #expect(c >= 0.05, "\(text): \(c)") } else { #expect(c == 0, "\(text): \(c)") }
}

/// A store's name is no praise: "Best Buy has the TV on sale" is neutral.
@Test func bestBuyIsAName() {
    let e = engine.enrich(InsightInput(text: "Best Buy has the TV on sale this week")).enrichment
    #expect(e.sentiment.compound == 0)
    #expect(e.intents.isEmpty)
}

/// A line break ends a sentence: a phrase or a negation does not run on into the next line.
@Test func aLineBreakEndsASentence() {
    withTokens("Great service\nNot happy with the price") { toks, n, _ in
        #expect(n == 7)
        #expect(toks[1].has(Token.sentenceEnd) && toks[1].has(Token.boundaryAfter))
        #expect(toks[2].has(Token.sentenceStart))
    }
    withTokens("ok,\nfine") { toks, n, _ in
        #expect(n == 2)
        #expect(toks[0].has(Token.sentenceEnd))
    }
    let e = engine.enrich(InsightInput(text: "Would I recommend? No\ncomplaints were answered for weeks")).enrichment
    #expect(!e.intents.contains { $0.kind == .praise }, "\(e.intents)")
    #expect(e.sentiment.compound <= 0)
}
