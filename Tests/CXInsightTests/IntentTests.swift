import CXCore
import Foundation
import Testing
@testable import CXInsight

/// One test per rule family; each intent carries the phrase that triggered it.
@Suite struct IntentTests {
    func intents(_ t: String) -> [Enrichment.Intent] { engine.enrich(InsightInput(text: t)).enrichment.intents }

    /// Rules whose head starts a multi-word alternative ("the runaround"), mixes one- and several-word alternatives
    /// ("any|is there a"), is a number, or is followed by optional elements ("was (so|really)? great"): a candidate
    /// is dropped before the matcher when the next token cannot continue the match, and these must still match.
    @Test(arguments: [
        ("They gave me the run-around again", Enrichment.Intent.Kind.complaint, "the run-around"),
        ("Got the runaround all week.", .complaint, "the runaround"),
        ("I was passed back and forth between three departments", .complaint, "passed back and forth"),
        ("45 minutes later and still no food", .complaint, "45 minutes later"),
        ("2 hours on the tarmac and counting", .complaint, "2 hours on the tarmac"),
        ("Is there any update on my order", .question, "Is there"),
        ("any update on my refund?", .question, "any update"),
        ("The staff was really great today", .praise, "was really great"),
        ("The staff was great today", .praise, "was great"),
        ("I will never be shopping here again", .cancellation, "never be shopping here"),
    ])
    func rulesPutForwardByTheirHeadStillMatch(text: String, kind: Enrichment.Intent.Kind, phrase: String) {
        #expect(intents(text).contains { $0.kind == kind && $0.phrase == phrase }, "\(intents(text))")
    }

    /// Churn threats raise a warning alert per customer: "going to" as the future, "returning this" item, a last time
    /// that looks back, switching to another flight, and "in the end the service" are none; the threats they were
    /// narrowed from still are.
    @Test(arguments: [
        ("I'm not going to lie, this is the best pizza in town", false),
        ("I'm not going to complain, the food was fine", false),
        ("I'm not returning this, I love it", false),
        ("never going to forget how kind the staff were", false),
        ("Last time I was here the service was great", false),
        ("The last time I ordered, it arrived in 2 days", false),
        ("I'm switching to another flight tomorrow", false),
        ("changing to a different colour please", false),
        ("In the end the service was fantastic", false),
        ("I'm not going back there", true),
        ("not going to shop here anymore", true),
        ("This is the last time I shop here", true),
        ("Last time I'm ordering from you", true),
        ("I will not return to this store", true),
        ("Im switching to another store", true),
        ("ending my membership today", true),
        ("won't be coming back", true),
        ("I won't be renewing my membership", true), ("not renewing my subscription after this", true),
        ("will be using a different airline next time", true), ("renewing my membership was easy", false),
        ("I am using a different card this time", false),
    ])
    func churnThreatsAndTheirLookAlikes(text: String, churn: Bool) {
        #expect(kinds(text).contains(.cancellation) == churn, "\(intents(text))")
    }

    /// A negation before a word that negates no action or quality is no complaint cue; a negated verb still is.
    @Test(arguments: [
        ("I've never been here before", false), ("Nothing to report", false),
        ("nothing else to add", false), ("Never been to this branch, which aisle is the bread in?", false),
        ("Not a single person helped me", true), ("I would not recommend this store", true),
        ("the app won't open on my phone", true),
    ])
    func negatedFillersAreNoComplaint(text: String, complaint: Bool) {
        #expect(kinds(text).contains(.complaint) == complaint, "\(intents(text))")
    }

    /// The critical severity is for safety, health, fraud and legal threats, not for "fell in love", "this burger is
    /// fire", "sick sneakers" or a name ("Sue at the counter").
    @Test(arguments: [
        ("I fell in love with this dress", false), ("this burger is fire", false), ("these sneakers are sick", false),
        ("Sue at the counter was lovely", false), ("my son slipped and fell near the door", true),
        ("the chicken made me sick", true), ("the charger caught fire", true), ("I will sue you", true),
    ])
    func criticalSeverity(text: String, critical: Bool) {
        let themes = engine.enrich(InsightInput(text: text)).enrichment.themes
        #expect(themes.contains(Enrichment.Theme(dimension: "severity", value: "critical")) == critical, "\(themes)")
    }

    @Test(arguments: [
        ("Lost my bag at the airport", "Lost my bag"),
        ("They charged me twice for one coffee", "charged me twice"),
        ("Still waiting for my refund", "Still waiting"),
        ("I've been on hold for 40 minutes", "on hold"),
        ("You cancelled my order without telling me", "cancelled my"),
        ("My parcel never arrived", "never arrived"),
        ("The app keeps crashing at checkout", "keeps crashing"),
        ("Got the wrong size again", "wrong size"),
        ("Where is my bag? Landed two hours ago", "Where is my bag"),
        ("We missed our connection because of the gate change", "missed our connection"),
        ("Slept at the airport after mechanical issues", "Slept at the airport"),
        ("You guys messed up my seating", "messed up"),
        ("The agent dropped the ball with my booking", "dropped the ball"),
        ("20 minutes and counting to speak to anyone", "20 minutes and counting"),
        ("no cold air from the vents #noair #worstflightever", "#worstflightever"),
        ("Flight 1228 to Denver again #customerservicefail", "#customerservicefail"),
        ("over 15 min hold on your reservation line", "15 min hold"),
        ("Thanks for making everyone wait in the dark", "Thanks for making everyone"),
        ("As a member I am totally dissatisfied", "dissatisfied"),
        ("Another canned response to my email", "canned response"),
        ("Two weeks of the runaround between store and head office", "the runaround"),
        ("Total lack of communication about my order", "lack of communication"),
        ("Your delivery partner needs to do better", "needs to do better"),
        ("Third late order this month, get your act together", "get your act together"),
        ("Not impressed with the new self checkout", "Not impressed"),
        ("Not even an apology from the manager", "Not even an apology"),
        ("Three calls to the helpline and no solution", "no solution"),
        ("The support line keeps hanging up on customers", "hanging up on customers"),
        ("It's been 3 weeks since I sent the form", "It's been 3 weeks"),
        ("On the phone for 2 hours with support", "on the phone for 2 hours"),
        ("You can't even get someone on the phone", "can't even get someone"),
        ("I cant get thru to the reservations desk", "cant get thru"),
        ("This model would not work with my phone", "would not work"),
        ("The earpiece wouldn't stay on my ear", "wouldn't stay on"),
    ])
    func complaintsWithoutEmotionalWords(_ text: String, _ phrase: String) {
        let c = intents(text).first { $0.kind == .complaint }
        #expect(c != nil, "no complaint in: \(text)")
        #expect(c?.phrase.lowercased().contains(phrase.lowercased()) == true, "phrase \(c?.phrase ?? "-")")
    }

    @Test(arguments: [
        "The cashier wasn't rude at all", "No complaints, everything arrived on time",
        "Lovely staff and quick checkout", "Great crew on the way home #bestflightever",
        "Any idea where gate B4 is?", "#VX358 boarded on time, thanks", "Thank you for making us feel so welcome",
        "Thanks for not charging me the bag fee!", "Can I put a hold on this jacket until Saturday?",
        "Another smooth flight #neverdisappoints", "Fun week #springbreaks", "Easy to sleep on the plane, comfy seats",
        "Only 10 minutes on the phone and it was sorted, thanks!", "Staff fixed my technical issue in minutes",
        "Zero service charge on takeaway, nice",
        "I usually fly with another airline but your crew was fantastic", "Should have booked this hotel years ago!",
        "Received my refund, thank you",
        "I got an automated email confirming my order", "We got our things together and headed to the tills",
        "It's been 5 years and I still love this store", "Easy to get it together, instructions were clear",
        "What's the point of contact for group bookings?", "It's been 3 months and we love the sofa",
        "The birthday cake was passed around and everyone loved it", "On the phone for 5 minutes and it was sorted",
    ])
    func notComplaints(_ text: String) {
        let r = engine.enrich(InsightInput(text: text)).enrichment
        #expect(!r.intents.contains { $0.kind == .complaint || $0.kind == .cancellation }, "\(r.intents)")
        #expect(r.sentiment.compound > -0.05, "compound \(r.sentiment.compound)")
    }

    @Test(arguments: [
        ("I want a refund", Enrichment.Intent.Kind.refund), ("Please give me my money back", .refund),
        ("I'm going to cancel my membership", .cancellation), ("Switching to Walmart after this", .cancellation),
        ("Never shopping here again", .cancellation), ("Next time I will fly another airline", .cancellation),
        ("Should have gone with another airline", .cancellation), ("Thank you so much, Maria was wonderful", .praise),
        ("How do I return this jacket", .question), ("Is the store open on Sunday?", .question),
    ])
    func otherIntents(_ text: String, _ kind: Enrichment.Intent.Kind) {
        let found = intents(text)
        #expect(found.contains { $0.kind == kind }, "\(found)")
        #expect(found.allSatisfy { !$0.phrase.isEmpty && text.contains($0.phrase) })
    }

    /// A negation that denies a problem is praise, not a complaint, however far it stands from the problem; a
    /// negation of anything else still complains.
    @Test(arguments: [
        ("Never had any problems with it.", false),
        ("Haven't had any issues since.", false),
        ("Not a single issue so far.", false),
        ("Zero issues.", false),
        ("Never had any large problems.", false),
        ("I never had any response from them.", true),
        ("I've never had so many problems with an order.", true),
        ("Not a single person helped me.", true),
        ("No problems, but the delivery was late.", true),
        ("Not a single issue was resolved.", true),
        ("Haven't had any issues resolved yet.", true),
        ("I have not had any complaints answered in 3 weeks.", true),
    ])
    func deniedProblems(text: String, complaint: Bool) {
        let e = engine.enrich(InsightInput(text: text)).enrichment
        #expect(e.intents.contains { $0.kind == .complaint } == complaint, "\(text)")
        let compound = e.sentiment.compound
        #expect(complaint ? compound < 0 : compound > 0, "\(text): \(compound)")
    }

    @Test func zeroHashLiteralIsTheWordsHash() {
        #expect(ProblemDenial.zero == TermHash.of("zero"))
    }

    @Test func rulesParseAndRejectBadPatterns() throws {
        let d = try IntentDetector(rulesText: "complaint\tcharged (me|us)? twice\n# comment\nrefund\tmoney back\n")
        #expect(d.rules.count == 2)
        #expect(throws: (any Error).self) { try IntentDetector(rulesText: "complaint\t(unclosed\n") }
        #expect(throws: (any Error).self) { try IntentDetector(rulesText: "bogus\tword\n") }
        #expect(throws: (any Error).self) { try IntentRule(kind: .complaint, pattern: "*2 late") }
    }

    /// A rules file with a mistake is refused whole, and the error says which line and what is wrong with it.
    @Test(arguments: [
        ("complaint\t(unclosed", "'(' without a closing ')'"),
        ("bogus\tword", "a rule line is kind<TAB>pattern"),
        ("complaint", "a rule line is kind<TAB>pattern"),
        ("complaint\t*2 late", "a rule cannot start with a gap"),
        ("complaint\tlate? delivery", "a rule cannot start with an optional element"),
        ("complaint\tlate ()", "an empty group or alternative"),
        ("cue\tnot-a-number\twaited", "a cue line is cue<TAB>weight<TAB>phrase"),
    ])
    func badRuleLinesSayWhereAndWhat(_ line: String, _ reason: String) {
        let text = "# rules\ncomplaint\tcharged twice\n\n" + line + "\nrefund\tmoney back\n"
        do {
            _ = try IntentDetector(rulesText: text)
            Issue.record("accepted: \(line)")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("line 4: "), "\(message)")
            #expect(message.contains(reason), "\(message)")
            #expect(message.hasPrefix(IntentRule.SyntaxError.code))
        }
    }

    /// A group may list `<num>` among its words ("(an|<num>) hours"): the rule file's loader writes it as two rules,
    /// and a rule compiled directly refuses it rather than matching the literal word "<num>".
    @Test func numberAlternativesInAGroup() throws {
        let d = try IntentDetector(rulesText: "complaint\ton hold (for|<num>)? (hour|hours)\n")
        #expect(d.rules.map(\.pattern) == ["on hold (for)? (hour|hours)", "on hold <num>? (hour|hours)"])
        let e = try InsightEngine(
            configuration: {
                var c = InsightConfiguration()
                c.intentRulesText = "complaint\ton hold (for an|<num>) hours\n"
                return c
            }())
        for text in ["on hold for an hours", "on hold 3 hours", "on hold three hours"] {
            #expect(e.enrich(InsightInput(text: text)).enrichment.intents.contains { $0.kind == .complaint }, "\(text)")
        }
        #expect(throws: (any Error).self) { try IntentRule(kind: .complaint, pattern: "(an|<num>) hours") }
    }

    @Test func customRulesAreUsed() throws {
        var c = InsightConfiguration()
        c.intentRulesText = "complaint\tfrobnicator (jammed|stuck)\n"
        let e = try InsightEngine(configuration: c)
        let r = e.enrich(InsightInput(text: "the frobnicator jammed")).enrichment
        #expect(r.intents.first?.phrase == "frobnicator jammed")
    }

    /// A refund request without emotional words is still a dissatisfied customer, as complaints and churn are.
    @Test(arguments: ["I want my money back.", "Please refund my order", "I wish I could get a full refund"])
    func refundRequestsScoreNegative(_ text: String) {
        let r = engine.enrich(InsightInput(text: text)).enrichment
        #expect(r.intents.contains { $0.kind == .refund })
        #expect(r.sentiment.compound < -0.05, "compound \(r.sentiment.compound)")
    }
}

/// The complaint cues' phrase filter (the second-word bits of a cue head's entry) skips only the probes that cannot
/// match: every multi-word cue of the bundled rules, alone and inside a sentence, scores at least its weight, through
/// the engine's vocabulary (as the agent runs) and through the detector's own tables.
@Suite struct CuePhraseTests {
    @Test func everyCuePhraseIsFound() throws {
        let detector = try IntentDetector.bundled()
        let rules = String(decoding: try InsightResources.load("intent_rules", "txt"), as: UTF8.self)
        let cues = rules.split(separator: "\n").compactMap { line -> (String, Float)? in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 3, f[0] == "cue", f[2].contains(" "), let w = Float(f[1]) else { return nil }
            return (String(f[2]), w)
        }
        #expect(cues.count > 20)
        for (phrase, weight) in cues {
            for text in [phrase, "Honestly \(phrase) today", "the staff said \(phrase) and left"] {
                for resolved in [false, true] {
                    let score = withTokens(text, resolved: resolved) { toks, n, _ in
                        detector.complaintCues(toks, n).score
                    }
                    #expect(score >= weight, "\(text) (resolved: \(resolved)): \(score) < \(weight)")
                }
            }
        }
    }
}

/// The word signature that lets a rule be skipped on texts that lack its words: every hash sets exactly one of its
/// 256 bits, the one `TermTable.home(hash, 56)` names, whichever of the four lanes that bit is in.
@Suite struct WordSignatureTests {
    @Test(arguments: [1, 7, 40])
    func setsTheBitItsHashNames(words: Int) {
        var rng = SplitMix(seed: UInt64(words))
        for _ in 0..<500 {
            var signature = WordSignature()
            var bits = Set<Int>()
            for _ in 0..<words {
                let h = rng.next()
                signature.insert(h)
                bits.insert(TermTable.home(h, 56))
            }
            let lanes = [signature.a, signature.b, signature.c, signature.d]
            let set = Set((0..<256).filter { lanes[$0 >> 6] & (UInt64(1) << UInt64($0 & 63)) != 0 })
            #expect(set == bits)
            #expect(signature.bitCount == bits.count)
            let probe = rng.next()
            var one = WordSignature()
            one.insert(probe)
            #expect(signature.intersects(one) == bits.contains(TermTable.home(probe, 56)))
        }
    }

    /// `contains` reads its lane at the lane's offset in the struct: the four lanes must lie in order, and every probe
    /// must answer as the lane's bit does.
    @Test func containsReadsTheBitsLane() {
        #expect(MemoryLayout<WordSignature>.size == 32)
        #expect(MemoryLayout<WordSignature>.offset(of: \WordSignature.a) == 0)
        #expect(MemoryLayout<WordSignature>.offset(of: \WordSignature.b) == 8)
        #expect(MemoryLayout<WordSignature>.offset(of: \WordSignature.c) == 16)
        #expect(MemoryLayout<WordSignature>.offset(of: \WordSignature.d) == 24)
        var rng = SplitMix(seed: 99)
        for _ in 0..<200 {
            let signature = WordSignature(a: rng.next(), b: rng.next(), c: rng.next(), d: rng.next())
            let lanes = [signature.a, signature.b, signature.c, signature.d]
            for _ in 0..<64 {
                let h = rng.next()
                let x = TermTable.home(h, 56)
                #expect(signature.contains(h) == (lanes[x >> 6] & (UInt64(1) << UInt64(x & 63)) != 0))
            }
        }
    }
}
