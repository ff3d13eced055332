import CXCore
import Foundation
import Testing
@testable import CXInsight

/// The alert rules as a pure state machine: thresholds, cooldown, de-duplication and the spike window.
@Suite struct AlertTests {
    func ev(
        _ id: String, store: String = "s1", t: Int64, compound: Double = 0, intents: Set<Enrichment.Intent.Kind> = [],
        score: Double? = nil, kind: ScoreKind? = nil, customer: String? = nil, suppressed: Bool = false
    ) -> AlertEvent {
        AlertEvent(
            eventID: id, storeID: store, customerKey: customer, timeMs: t, compound: compound, intents: intents,
            score: score, scoreKind: kind, suppressed: suppressed)
    }

    @Test func thresholdsAndScores() {
        var a = AlertRuleEngine()
        let r1 = a.process(ev("1", t: 0, compound: -0.5))
        #expect(r1.map(\.ruleID) == ["very-negative"])
        let r2 = a.process(ev("2", store: "s2", t: 0, compound: -0.49))
        #expect(r2.isEmpty)
        let r3 = a.process(ev("3", store: "s3", t: 0, score: 6, kind: .nps))
        #expect(r3.map(\.ruleID) == ["nps-detractor"])
        let r4 = a.process(ev("4", store: "s4", t: 0, score: 7, kind: .nps))
        #expect(r4.isEmpty)
        let r5 = a.process(ev("5", store: "s5", t: 0, score: 2, kind: .csat))
        #expect(r5.map(\.ruleID) == ["csat-low"])
        let r6 = a.process(ev("6", store: "s6", t: 0, score: 6, kind: .ces))
        #expect(r6.map(\.ruleID) == ["high-effort"])
        let r7 = a.process(ev("7", store: "s7", t: 0, intents: [.cancellation], customer: "c"))
        #expect(r7.map(\.ruleID) == ["churn-threat"])
    }

    /// One effort threshold, written on the 1-7 scale, means the same effort on the 1-5 scale: a 4 of 5 is high
    /// effort, which the shared threshold of 5 missed (only a 5 of 5 alerted, the scale's very top). Fractional scores
    /// are compared as posted: a CSAT of 2.4 is not "at or below 2", an NPS of 6.4 is not a detractor, and a 6.5
    /// effort is high at a threshold of 6.5 (each was rounded first).
    @Test(
        arguments: [
            (4.0, ScoreKind.ces5, "high-effort", "score 4 of 5"), (3.0, .ces5, nil, ""),
            (5.0, .ces5, "high-effort", "5 of 5"),
            (5.0, .ces, "high-effort", "score 5)"), (4.0, .ces, nil, ""), (4.9, .ces, nil, ""),
            (2.4, .csat, nil, ""), (2.0, .csat, "csat-low", "score 2)"), (1.5, .csat, "csat-low", "score 1.5)"),
            (6.4, .nps, nil, ""), (6.0, .nps, "nps-detractor", "score 6)"), (4.0, .review, nil, ""),
        ] as [(Double, ScoreKind, String?, String)])
    func scoresOnTheirOwnScale(score: Double, kind: ScoreKind, rule: String?, message: String) {
        var a = AlertRuleEngine()
        let raised = a.process(ev("e", t: 0, score: score, kind: kind))
        #expect(raised.map(\.ruleID) == (rule.map { [$0] } ?? []))
        #expect(raised.allSatisfy { $0.message.contains(message) }, "\(raised.map(\.message))")
    }

    @Test func aFractionalEffortThreshold() {
        var a = AlertRuleEngine(rules: [AlertRule(id: "effort", condition: .highEffort, threshold: 6.5)])
        #expect(a.process(ev("1", store: "a", t: 0, score: 6, kind: .ces)).isEmpty)
        #expect(a.process(ev("2", store: "b", t: 0, score: 6.5, kind: .ces)).map(\.ruleID) == ["effort"])
        // 1 + (4.5 - 1) * 1.5 = 6.25 on seven points, 5 of 5 is 7
        #expect(a.process(ev("3", store: "c", t: 0, score: 4.5, kind: .ces5)).isEmpty)
        #expect(a.process(ev("4", store: "d", t: 0, score: 5, kind: .ces5)).map(\.ruleID) == ["effort"])
    }

    /// Rules come from configuration: seconds beyond 100 years count as 100 years (a cooldown that suppresses for
    /// good, as a very long one should), negative ones as none, instead of overflowing event times and trapping.
    @Test(arguments: [Int.max, Int.max / 1000 + 1, Int.min])
    func hugeSecondsDoNotTrap(seconds: Int) {
        var a = AlertRuleEngine(rules: [
            AlertRule(id: "neg", condition: .sentimentAtOrBelow, threshold: -0.5, cooldownSeconds: seconds),
            AlertRule(
                id: "spike", condition: .negativeSpike, threshold: -0.5, count: 2, windowSeconds: seconds,
                cooldownSeconds: seconds),
        ])
        #expect(a.process(ev("1", t: 1_000, compound: -0.9)).map(\.ruleID) == ["neg"])
        let second = a.process(ev("2", t: 2_000, compound: -0.9)).map(\.ruleID)
        #expect(second == (seconds < 0 ? ["neg"] : ["spike"]))
        a.prune(3_000)
        #expect(a.process(ev("3", t: 4_000, compound: -0.9)).map(\.ruleID) == (seconds < 0 ? ["neg"] : []))
    }

    @Test(arguments: [
        ("alert_cooldown_seconds", "99999999999999999", false), ("alert_cooldown_seconds", "2592001", false),
        ("alert_cooldown_seconds", "-1", false), ("alert_cooldown_seconds", "2592000", true),
        ("alert_cooldown_seconds", "0", true), ("alert_sentiment_threshold", "-1.5", false),
        ("alert_sentiment_threshold", "-0.3", true), ("alert_sentiment_threshold", "0", false),
        ("alert_sentiment_threshold", "-0.05", true), ("alert_rules_disabled", "churn-threat,nope", false),
        ("alert_rules_disabled", "churn-threat, complaint", true), ("survey_prompt", "anything", true),
        ("alert_cooldown", "600", false),
    ])
    func settingValuesAreChecked(name: String, value: String, valid: Bool) {
        #expect((AlertRule.settingProblem(name: name, value: value) == nil) == valid)
    }

    /// A customer key as its hex text (the public API) and as its bytes (the agent's packed path) are one customer:
    /// one cooldown, one de-duplication key spelled in hex. Text of another form stays a customer of its own.
    @Test func customerKeyFormsShareOneCooldown() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: .customer)
        ])
        let hex = "0123456789abcdef00112233445566ff"
        let first = a.process(ev("1", t: 0, intents: [.cancellation], customer: hex))
        #expect(first.map(\.dedupKey) == ["churn|s1|\(hex)"])
        var bytes = ev("2", t: 1000, intents: [.cancellation])
        bytes.customerHalves = .init(high: 0x0123_4567_89ab_cdef, low: 0x0011_2233_4455_66ff)
        #expect(bytes.customerKey == hex)
        #expect(a.process(bytes).isEmpty)
        let upper = a.process(ev("3", t: 2000, intents: [.cancellation], customer: hex.uppercased()))
        #expect(upper.map(\.dedupKey) == ["churn|s1|\(hex.uppercased())"])
        let short = a.process(ev("4", t: 3000, intents: [.cancellation], customer: String(hex.dropLast())))
        #expect(short.map(\.dedupKey) == ["churn|s1|\(hex.dropLast())"])
        #expect(a.process(ev("5", t: 4000, intents: [.cancellation], customer: hex)).isEmpty)
    }

    @Test func cooldownSuppressesAndCounts() {
        var a = AlertRuleEngine(rules: [AlertRule(id: "neg", condition: .sentimentAtOrBelow, cooldownSeconds: 600)])
        let r8 = a.process(ev("1", t: 0, compound: -0.9))
        #expect(r8.count == 1)
        for i in 2...6 {
            let r9 = a.process(ev("\(i)", t: Int64(i) * 1000, compound: -0.9))
            #expect(r9.isEmpty)
        }
        let later = a.process(ev("7", t: 601_000, compound: -0.9))
        #expect(later.count == 1)
        #expect(later.first?.suppressedSincePrevious == 5)
    }

    @Test func dedupKeyScopes() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: .customer)
        ])
        let r10 = a.process(ev("1", t: 0, intents: [.cancellation], customer: "alice"))
        #expect(r10.count == 1)
        let r11 = a.process(ev("2", t: 1, intents: [.cancellation], customer: "alice"))
        #expect(r11.isEmpty)
        let r12 = a.process(ev("3", t: 2, intents: [.cancellation], customer: "bob"))
        #expect(r12.count == 1)
        var b = AlertRuleEngine(rules: [
            AlertRule(id: "neg", condition: .sentimentAtOrBelow, cooldownSeconds: 3600, dedupScope: .store)
        ])
        let r13 = b.process(ev("1", store: "a", t: 0, compound: -1))
        #expect(r13.count == 1)
        let r14 = b.process(ev("2", store: "b", t: 0, compound: -1))
        #expect(r14.count == 1)
        let r15 = b.process(ev("3", store: "a", t: 5, compound: -1))
        #expect(r15.isEmpty)
    }

    /// An angry queue at an anonymous kiosk raises one churn-threat alert per store and cooldown, not one per answer;
    /// identified customers keep their own alerts.
    @Test func anonymousEventsOfACustomerScopedRuleShareTheStoresKey() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: .customer)
        ])
        var raised: [InsightAlert] = []
        for i in 0..<50 {
            raised += a.process(ev("q\(i)", t: Int64(i) * 1000, intents: [.cancellation]))
        }
        #expect(raised.count == 1)
        #expect(raised.first?.dedupKey == "churn|s1|anonymous")
        #expect(a.process(ev("other-store", store: "s2", t: 50_000, intents: [.cancellation])).count == 1)
        #expect(a.process(ev("alice", t: 51_000, intents: [.cancellation], customer: "alice")).count == 1)
        let afterCooldown = a.process(ev("q50", t: 3_601_000, intents: [.cancellation]))
        #expect(afterCooldown.count == 1)
        #expect(afterCooldown.first?.suppressedSincePrevious == 49)
    }

    /// Stores keep alerts in id order; ids must grow with time, not with the rule or the (hashed) scope key, so
    /// that new alerts are appended at the end of the table instead of landing inside it.
    @Test func idsOfOneRuleSortByTimeRaised() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: .customer)
        ])
        let customers = ["zz9", "aa1", "mm5", "0f3", "ff0", "b72"]
        var ids: [String] = []
        for (i, c) in customers.enumerated() {
            let raised = a.process(
                ev("\(i)", t: 1_700_000_000_000 + Int64(i) * 1000, intents: [.cancellation], customer: c))
            #expect(raised.count == 1)
            ids += raised.map(\.id)
        }
        #expect(ids.count == customers.count)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.contains("|churn|") })
        #expect(ids.first?.hasSuffix("|s1|zz9") == true)
        #expect(Set(ids).count == ids.count)
    }

    /// Across rules too: a later alert of a rule that sorts first by name still sorts after an earlier one.
    @Test func idsOfDifferentRulesSortByTimeRaised() {
        var a = AlertRuleEngine(rules: [
            AlertRule(id: "b-neg", condition: .sentimentAtOrBelow, cooldownSeconds: 0, dedupScope: .store),
            AlertRule(id: "a-churn", condition: .intent, intent: .cancellation, cooldownSeconds: 0, dedupScope: .store),
        ])
        let first = a.process(ev("1", t: 9_000, compound: -0.9)).map(\.id)
        let second = a.process(ev("2", t: 10_000, intents: [.cancellation])).map(\.id)
        #expect(first == ["0000000009000|b-neg|s1"])
        #expect(second == ["0000000010000|a-churn|s1"])
        #expect(first[0] < second[0])
    }

    @Test func spikeNeedsCountWithinSlidingWindow() {
        let rule = AlertRule(
            id: "spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 60, severity: .critical,
            cooldownSeconds: 300)
        var a = AlertRuleEngine(rules: [rule])
        let r16 = a.process(ev("1", t: 0, compound: -0.8))
        #expect(r16.isEmpty)
        let r17 = a.process(ev("2", t: 30_000, compound: -0.8))
        #expect(r17.isEmpty)
        let r18 = a.process(ev("x", t: 40_000, compound: 0.8))
        #expect(r18.isEmpty)  // positive: not counted
        let r19 = a.process(ev("3", t: 70_000, compound: -0.8))
        #expect(r19.isEmpty)  // event 1 slid out of the window
        let fired = a.process(ev("4", t: 80_000, intents: [.complaint]))  // complaints count as negative
        #expect(fired.count == 1)
        #expect(fired.first?.eventIDs == ["2", "3", "4"])
        #expect(fired.first?.severity == .critical)
        // other stores have their own windows
        let r20 = a.process(ev("5", store: "s2", t: 80_000, compound: -0.9))
        #expect(r20.isEmpty)
    }

    @Test func spikeWindowKeepsTheLatestEventsDuringACooldown() {
        let rule = AlertRule(
            id: "spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 600, severity: .critical,
            cooldownSeconds: 60)
        var a = AlertRuleEngine(rules: [rule])
        let raised = (1...9).map { a.process(ev("\($0)", t: Int64($0) * 1000, compound: -0.9)).count }
        #expect(raised == [0, 0, 1, 0, 0, 0, 0, 0, 0])  // then in cooldown until 63 s
        let fired = a.process(ev("10", t: 70_000, compound: -0.9))
        #expect(fired.first?.eventIDs == ["8", "9", "10"])
        #expect(fired.first?.suppressedSincePrevious == 4)  // 6, 7, 8 and 9 completed a spike in the cooldown
    }

    /// A request refused after its analysis (the agent's buffer full) leaves the cooldowns its events started; the
    /// producer's retry of such an event raises its alert again, with the same events, instead of being suppressed by
    /// an alert that was never stored, and a retried event counts once in a spike window. Other events stay
    /// suppressed.
    @Test(arguments: [AlertRule.DedupScope.store, .customer, .storeChannel])
    func aRetriedEventRaisesItsAlertAgain(scope: AlertRule.DedupScope) {
        var a = AlertRuleEngine(rules: [
            AlertRule(id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: scope),
            AlertRule(
                id: "spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 600,
                severity: .critical, cooldownSeconds: 600, dedupScope: scope),
        ])
        func event(_ id: String, _ t: Int64, churn: Bool = false) -> AlertEvent {
            var e = ev(id, t: t * 1000, compound: -0.9, intents: churn ? [.cancellation] : [], customer: "c")
            e.channel = "kiosk"
            return e
        }
        #expect(a.process(event("1", 1, churn: true)).map(\.ruleID) == ["churn"])
        let retried = a.process(event("1", 5, churn: true))
        #expect(retried.map(\.ruleID) == ["churn"], "the retry raises the churn alert again")
        #expect(retried.first?.eventIDs == ["1"])
        #expect(a.process(event("2", 6, churn: true)).isEmpty, "another event is still in the cooldown")
        // "1" counted once: "2" is the second negative event of the window, "3" the third
        let spike = a.process(event("3", 7))
        #expect(spike.map(\.ruleID) == ["spike"])
        #expect(spike.first?.eventIDs == ["1", "2", "3"])
        let again = a.process(event("3", 9))
        #expect(again.map(\.ruleID) == ["spike"], "the retry of the spike's last event raises it again")
        #expect(again.first?.eventIDs == ["1", "2", "3"])
        #expect(a.process(event("1", 9)).isEmpty && a.process(event("2", 9)).isEmpty)
        #expect(a.process(event("4", 10)).isEmpty)
        #expect(a.process(event("5", 11)).isEmpty)
        #expect(a.process(event("6", 12)).isEmpty, "the spike rule is in its cooldown")
    }

    /// An engine built for new rules keeps the cooldowns and spike windows of the rules that stay (same id and
    /// scope), re-indexed; a rule that went takes its state with it.
    @Test func newRulesKeepTheStateOfTheRulesThatStay() {
        let churn = AlertRule(
            id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: .customer)
        let negative = AlertRule(id: "neg", condition: .sentimentAtOrBelow, threshold: -0.5, cooldownSeconds: 600)
        let spike = AlertRule(
            id: "spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 600, cooldownSeconds: 600)
        var a = AlertRuleEngine(rules: [churn, negative, spike])
        #expect(a.process(ev("1", t: 0, compound: -0.9, intents: [.cancellation], customer: "c")).count == 2)
        #expect(a.process(ev("2", t: 1000, compound: -0.9)).isEmpty)
        var stricter = negative
        stricter.threshold = -0.6
        var b = AlertRuleEngine(rules: [spike, stricter], keeping: a)
        // neg is still in its cooldown; the spike window still holds 1 and 2, so 3 completes it
        #expect(b.process(ev("3", t: 2000, compound: -0.9)).map(\.ruleID) == ["spike"])
        #expect(b.process(ev("4", t: 3000, compound: -0.9, intents: [.cancellation], customer: "c")).isEmpty)
        a = AlertRuleEngine(rules: [churn], keeping: AlertRuleEngine(rules: [negative], keeping: a))
        #expect(a.process(ev("5", t: 4000, intents: [.cancellation], customer: "c")).map(\.ruleID) == ["churn"])
    }

    /// The retries of a spike's events (the request that completed it refused, then sent again) do not count toward
    /// the next spike: with a short cooldown, one new negative event raised a spike naming events already alerted on.
    @Test func aSpikesRetriedEventsDoNotMakeTheNextOne() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 600,
                cooldownSeconds: 0)
        ])
        let first = (1...3).map { a.process(ev("\($0)", t: Int64($0) * 1000, compound: -0.9)).count }
        #expect(first == [0, 0, 1])
        #expect(a.process(ev("1", t: 5000, compound: -0.9)).isEmpty)
        #expect(a.process(ev("2", t: 6000, compound: -0.9)).isEmpty)
        #expect(a.process(ev("4", t: 7000, compound: -0.9)).isEmpty, "one new negative event is no spike")
        #expect(a.process(ev("5", t: 8000, compound: -0.9)).isEmpty)
        #expect(a.process(ev("6", t: 9000, compound: -0.9)).map(\.eventIDs) == [["4", "5", "6"]])
    }

    /// Events without an id (as `cx-agent analyze` passes them) are all different events.
    @Test func eventsWithoutAnIdAreNotRetriesOfEachOther() {
        var a = AlertRuleEngine(rules: [
            AlertRule(id: "neg", condition: .sentimentAtOrBelow, cooldownSeconds: 600),
            AlertRule(
                id: "spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 600,
                cooldownSeconds: 600),
        ])
        let raised = (1...3).map { a.process(ev("", t: Int64($0) * 1000, compound: -0.9)).map(\.ruleID) }
        #expect(raised == [["neg"], [], ["spike"]])
    }

    /// A spike rule scoped finer than the store keeps its window's event ids and its cooldown per key, and rules
    /// scoped finer than the store raise in rule order after the store-scoped ones.
    @Test func finerScopedSpikeRaisesWithItsWindowAndCountsSuppressedSpikes() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 3600, dedupScope: .customer),
            AlertRule(
                id: "channel-spike", condition: .negativeSpike, threshold: -0.5, count: 3, windowSeconds: 600,
                severity: .critical, cooldownSeconds: 60, dedupScope: .storeChannel),
            AlertRule(id: "very-negative", condition: .sentimentAtOrBelow, threshold: -0.5, cooldownSeconds: 3600),
            AlertRule(id: "churn-store", condition: .intent, intent: .cancellation, cooldownSeconds: 3600),
        ])
        func kiosk(_ id: String, _ t: Int64, churn: Bool = false) -> [InsightAlert] {
            var e = ev(id, t: t * 1000, compound: -0.9, intents: churn ? [.cancellation] : [], customer: "c\(id)")
            e.channel = "kiosk"
            return a.process(e)
        }
        #expect(kiosk("1", 1).map(\.ruleID) == ["very-negative"])
        #expect(kiosk("2", 2).isEmpty)
        let third = kiosk("3", 3, churn: true)
        // very-negative is in its cooldown; the store-scoped rule 3 comes before the finer rules 0 and 1
        #expect(third.map(\.ruleID) == ["churn-store", "churn", "channel-spike"])
        #expect(third.last?.eventIDs == ["1", "2", "3"])
        #expect(third.map(\.dedupKey) == ["churn-store|s1", "churn|s1|c3", "channel-spike|s1|kiosk"])
        let inCooldown = (4...9).map { kiosk("\($0)", Int64($0)).count }
        #expect(inCooldown == [0, 0, 0, 0, 0, 0])
        let after = kiosk("10", 70)
        #expect(after.map(\.ruleID) == ["channel-spike"])
        #expect(after.first?.eventIDs == ["8", "9", "10"])
        // The window is the store's and the cooldown the key's: a raise by a finer key leaves the window as it is, so
        // 4 to 9 each completed a spike in the cooldown.
        #expect(after.first?.suppressedSincePrevious == 6)
        #expect(a.activeCooldowns == 4)
    }

    /// Rules from 64 on are walked after the first 64, store-scoped before finer-scoped; a pruned cooldown raises
    /// afresh with nothing suppressed, and a clock that moved back is not held in a cooldown.
    @Test func rulesPast64AndPrunedCooldownsOfFinerKeys() {
        var rules = (0..<70).map {
            AlertRule(id: "filler-\($0)", condition: .csatAtOrBelow, threshold: 1, cooldownSeconds: 60)
        }
        rules[1] = AlertRule(
            id: "churn-1", condition: .intent, intent: .cancellation, cooldownSeconds: 60, dedupScope: .customer)
        rules[65] = AlertRule(
            id: "churn-65", condition: .intent, intent: .cancellation, cooldownSeconds: 60, dedupScope: .customer)
        rules[66] = AlertRule(id: "churn-66", condition: .intent, intent: .cancellation, cooldownSeconds: 60)
        var a = AlertRuleEngine(rules: rules)
        let first = a.process(ev("1", t: 0, intents: [.cancellation], customer: "c"))
        #expect(first.map(\.ruleID) == ["churn-66", "churn-1", "churn-65"])
        let inCooldown = a.process(ev("2", t: 10_000, intents: [.cancellation], customer: "c"))
        #expect(inCooldown.isEmpty)
        #expect(a.activeCooldowns == 3)
        // the clock moved back: no cooldown holds the match, and the one suppressed match is reported
        let back = a.process(ev("3", t: -5_000, intents: [.cancellation], customer: "c"))
        #expect(back.map(\.ruleID) == ["churn-66", "churn-1", "churn-65"])
        #expect(back.map(\.suppressedSincePrevious) == [1, 1, 1])
        #expect(a.process(ev("4", t: 0, intents: [.cancellation], customer: "c")).isEmpty)
        a.prune(200_000)
        #expect(a.activeCooldowns == 0)
        let afterPrune = a.process(ev("5", t: 200_000, intents: [.cancellation], customer: "c"))
        #expect(afterPrune.map(\.ruleID) == ["churn-66", "churn-1", "churn-65"])
        #expect(afterPrune.map(\.suppressedSincePrevious) == [0, 0, 0])
    }

    /// Pruning drops only the cooldowns that ended, in place: the customers still in theirs stay suppressed, the
    /// others raise afresh, and stores whose windows and cooldowns all ended are forgotten.
    @Test func pruneKeepsTheCooldownsThatHaveNotEnded() {
        var a = AlertRuleEngine(rules: [
            AlertRule(
                id: "churn", condition: .intent, intent: .cancellation, cooldownSeconds: 60, dedupScope: .customer),
            AlertRule(id: "very-negative", condition: .sentimentAtOrBelow, threshold: -0.5, cooldownSeconds: 60),
        ])
        func churn(_ id: String, _ customer: String, _ t: Int64, store: String = "s1") -> [String] {
            a.process(ev(id, store: store, t: t * 1000, intents: [.cancellation], customer: customer)).map(\.dedupKey)
        }
        #expect(churn("1", "early", 0) == ["churn|s1|early"])
        #expect(a.process(ev("2", store: "s2", t: 0, compound: -0.9)).map(\.ruleID) == ["very-negative"])
        #expect(churn("3", "late", 40) == ["churn|s1|late"])
        #expect(a.activeCooldowns == 3)
        a.prune(70_000)
        // "early" (0 s) and store s2 (0 s) ended their 60 s; "late" (40 s) has not
        #expect(a.activeCooldowns == 1)
        #expect(churn("4", "late", 70).isEmpty)
        #expect(churn("5", "early", 70) == ["churn|s1|early"])
        #expect(a.process(ev("6", store: "s2", t: 70_000, compound: -0.9)).map(\.suppressedSincePrevious) == [0])
    }

    /// The agent passes event ids as UUIDs, formatted only for the alerts that name them.
    @Test func uuidReferencesFormatAsLowerCaseText() throws {
        let u = try #require(UUID(uuidString: "B405910E-AF86-4E70-8EF0-FDACCD3D959A"))
        #expect(EventReference.uuid(u).string == "b405910e-af86-4e70-8ef0-fdaccd3d959a")
        var e = ev("", t: 0, compound: -0.9)
        e.event = .uuid(u)
        #expect(e.eventID == "b405910e-af86-4e70-8ef0-fdaccd3d959a")
        var a = AlertRuleEngine()
        #expect(a.process(e).map(\.eventIDs) == [["b405910e-af86-4e70-8ef0-fdaccd3d959a"]])
    }

    @Test func flaggedEventsDoNotAlertAndRulesDecodeFromJSON() throws {
        var a = AlertRuleEngine()
        let r21 = a.process(ev("1", t: 0, compound: -0.9, suppressed: true))
        #expect(r21.isEmpty)
        let json =
            #"[{"id":"spike","condition":"negative_spike","count":5,"windowSeconds":900,"severity":"critical","cooldownSeconds":3600}]"#
        let rules = try JSONDecoder().decode([AlertRule].self, from: Data(json.utf8))
        #expect(rules.first?.condition == .negativeSpike && rules.first?.count == 5)
    }

    @Test func deterministicReplay() {
        func run() -> [InsightAlert] {
            var a = AlertRuleEngine()
            var out: [InsightAlert] = []
            for i in 0..<200 {
                let compound: Double = i % 2 == 0 ? -0.7 : 0.2
                let intents: Set<Enrichment.Intent.Kind> = i % 5 == 0 ? [.complaint] : []
                out += a.process(
                    ev("\(i)", store: "s\(i % 3)", t: Int64(i) * 20_000, compound: compound, intents: intents))
            }
            return out
        }
        #expect(run() == run())
        #expect(!run().isEmpty)
    }

    @Test func engineRaisesAlertsWithState() {
        var state = engine.makeState()
        let r = engine.enrich(
            InsightInput(text: "Absolutely disgusting, the worst store ever", eventID: "e1", storeID: "s9", timeMs: 1),
            state: &state)
        #expect(r.alerts.contains { $0.ruleID == "very-negative" })
        let r2 = engine.enrich(
            InsightInput(text: nil, eventID: "e2", storeID: "s9", timeMs: 2, score: 3, scoreKind: .nps), state: &state)
        #expect(r2.alerts.map(\.ruleID) == ["nps-detractor"])
    }

    /// `match` skips the rules for an event that cannot match any of them; it must match exactly the events that the
    /// rules' documented conditions accept, over every intent set, compounds around each threshold and every score
    /// kind, for the default rules, a set without sentiment rules, one that only reads scores and none.
    @Test(arguments: [
        AlertRule.defaults,
        [
            AlertRule(id: "refund", condition: .intent, intent: .refund),
            AlertRule(id: "no-intent", condition: .intent),
            AlertRule(id: "low", condition: .csatAtOrBelow, threshold: 3),
        ],
        [
            AlertRule(id: "effort", condition: .highEffort),
            AlertRule(id: "nps", condition: .npsDetractor, threshold: 8),
        ],
        [AlertRule(id: "spike", condition: .negativeSpike, threshold: -0.2, count: 2)],
        [],
    ])
    func matchAgreesWithEveryRule(rules: [AlertRule]) {
        func accepts(_ r: AlertRule, _ compound: Double, _ intents: KindSet, _ score: Double?, _ kind: ScoreKind?)
            -> Bool
        {
            switch r.condition {
            case .sentimentAtOrBelow: return compound <= (r.threshold ?? -0.5)
            case .negativeSpike: return compound <= (r.threshold ?? -0.5) || intents.contains(.complaint)
            case .intent: return r.intent.map { intents.contains($0) } ?? false
            case .npsDetractor:
                return kind == .nps && score.map { $0 >= 0 && $0 <= (r.threshold ?? 6) } ?? false
            case .csatAtOrBelow: return kind == .csat && score.map { $0 <= (r.threshold ?? 2) } ?? false
            case .highEffort:
                guard let score else { return false }
                let seven: Double? = kind == .ces ? score : kind == .ces5 ? 1 + (score - 1) * 1.5 : nil
                return seven.map { $0 >= (r.threshold ?? 5) } ?? false
            }
        }
        var engine = AlertRuleEngine(rules: rules)
        let compounds = [-1, -0.5001, -0.5, -0.4999, -0.2001, -0.2, -0.1999, 0, 0.5, 1, .nan]
        let scores: [(Double?, ScoreKind?)] =
            [(nil, nil)]
            + [ScoreKind.nps, .csat, .ces, .ces5, .review].flatMap { k in
                [nil, 0, 1.9, 2, 2.1, 3, 3.6, 3.7, 4, 5, 6, 6.4, 7, 8, 10].map { ($0, k) }
            }
        var checked = 0
        var matched = 0
        var wrong: [String] = []
        for compound in compounds {
            for bits in 0..<UInt8(32) {
                let intents = KindSet(bits: bits)
                for (score, kind) in scores {
                    let signals = AlertRuleEngine.Signals(
                        compound: compound, intentBits: intents, score: score, scoreKind: kind)
                    let got = engine.match(signals, suppressed: false, nowMs: 0) != nil
                    let want = rules.contains { accepts($0, compound, intents, score, kind) }
                    if got != want {
                        wrong.append("\(compound) \(bits) \(String(describing: score)) \(String(describing: kind))")
                    }
                    if got { matched += 1 }
                    checked += 1
                }
            }
        }
        // a count, not the array: `#expect` prints its operands, and a broken shortcut gets thousands wrong
        #expect(wrong.count == 0, "\(wrong.count) of \(checked) events matched wrongly, first \(wrong.prefix(3))")
        #expect(rules.isEmpty ? matched == 0 : matched > 0 && matched < checked)
    }

    /// The packed enrichment's intent bits are the rules' `KindSet` of the same intents.
    @Test func packedIntentBitsAreKindSetBits() {
        for bits in 0..<UInt8(32) {
            var packed = PackedEnrichment(sentiment: .init(compound: 0, positive: 0, neutral: 1, negative: 0))
            var kinds = KindSet()
            for (i, kind) in Enrichment.Intent.Kind.allCases.enumerated() where bits & (1 << UInt8(i)) != 0 {
                packed.setIntent(kind, start: i, end: i + 1)
                kinds.insert(kind)
            }
            #expect(packed.intentBits == kinds.bits)
        }
    }
}
