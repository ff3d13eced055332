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

    /// Where `Irony.end` puts the end of the irony for the text's first complaint rule hit (0: none, or no irony).
    func ironyEnd(_ text: String) -> Int {
        withTokens(text, resolved: true) { toks, n, stats in
            _ = engine.scorer.score(toks, n, stats)
            var complaint = 0..<0
            engine.core.intents.hits(toks, n, questionMark: stats.questions > 0) { h in
                if h.kind == .complaint && complaint.isEmpty { complaint = h.start..<h.end }
            }
            return complaint.isEmpty ? 0 : Irony.end(toks, n, complaint: complaint)
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
        "Gotta love airlines that lose your bags",
        "Got to love being put on hold for an hour",
        "I'm so glad I just waited on the phone for over an hour",
        "Nice job losing my luggage",
        "Thanks for losing my bag",
        "yeah thanks a lot for cancelling my flight",
        "Can't thank you enough for ruining our anniversary",
        "Thanks for the great customer service, NOT",
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
        "So glad I waited for the sale",
    ])
    func praiseBesideAProblemIsNotIronyOutsideTheFrames(text: String) {
        #expect(ironyEnd(text) == 0, "\(text)")
    }

    /// The irony ends where the problem it praises ends: praise after that stands.
    @Test func ironyEndsWithItsProblem() {
        let text = "Great, another cancelled flight. The crew were lovely"
        #expect(ironyEnd(text) == 3)
        #expect(analysis("Great, another cancelled flight").compound < analysis(text).compound)
    }
}
