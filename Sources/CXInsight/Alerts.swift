import CXCore
import Foundation

/// An event's id as the alert rules carry it. The agent passes the UUID it parsed: the rules see every event and
/// name few of them, so the text is formatted only for an alert (or a customer key that is missing).
public enum EventReference: Sendable, Hashable {
    case uuid(UUID)
    case text(String)

    /// The id as alerts show it: a UUID in lower-case `8-4-4-4-12` form.
    public var string: String {
        switch self {
        case .text(let s): s
        case .uuid(let u): u.lowercasedString
        }
    }

    /// 64 bits of the id: what the rules and the near-duplicate window keep to know an event they saw before when a
    /// producer retries it; 0 for no id (an empty text, as `cx-agent analyze` passes).
    public var tag: UInt64 {
        let t: UInt64
        switch self {
        case .text(let s):
            if s.isEmpty { return 0 }
            t = s.utf8.reduce(TermHash.offset) { ($0 ^ UInt64($1)) &* TermHash.prime }
        case .uuid(let u):
            t = withUnsafeBytes(of: u.uuid) {
                $0.loadUnaligned(as: UInt64.self) ^ $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            }
        }
        return t == 0 ? 1 : t
    }
}

/// The score an event carries, by survey type, for detractor / CSAT / effort rules.
public enum ScoreKind: String, Sendable, Hashable, Codable {
    /// NPS, 0-10.
    case nps
    /// CSAT, 1-5.
    case csat
    /// Customer effort on the 1-7 scale, the one the effort rule's threshold is written on.
    case ces
    /// Customer effort on the 1-5 scale: the effort rule compares it mapped onto 1-7, so that one threshold means the
    /// same effort on both scales (a 5 of 5 is the most effort there is, not "5 of 7").
    case ces5
    /// Review stars, 1-5.
    case review

    /// An effort score as it sits on the 1-7 scale; nil for the other kinds.
    func effortOnSevenPoints(_ score: Double) -> Double? {
        switch self {
        case .ces: score
        case .ces5: 1 + (score - 1) * 1.5
        case .nps, .csat, .review: nil
        }
    }

    /// A score as operators read it in an alert: "4", "2.5", and "4 of 5" on the 1-5 effort scale.
    static func describe(_ score: Double, on kind: ScoreKind?) -> String {
        let text = score == score.rounded() && abs(score) < 1e15 ? String(Int64(score)) : String(score)
        return kind == .ces5 ? "\(text) of 5" : text
    }
}

/// What the alert rules look at for one event: a summary of the enriched event, not the text.
public struct AlertEvent: Sendable, Hashable {
    /// Event id, carried into alerts so operators can open the event.
    public var eventID: String {
        get { event.string }
        set { event = .text(newValue) }
    }
    /// The same, formatted only when an alert needs it.
    public var event: EventReference
    /// Store the event belongs to; alerts and spike windows are per store.
    public var storeID: String
    /// Channel (kiosk, pos, web, chat, email, social...), for channel-scoped de-duplication.
    public var channel: String?
    /// Hashed customer key, for rules de-duplicated per customer.
    public var customerKey: String? {
        get { customerHalves.map { CustomerKey.hex(($0.high, $0.low)) } ?? customerText }
        set {
            // A key as events carry it (32 lowercase hex digits) is held as its 16 bytes, as the agent passes it.
            customerHalves = newValue.flatMap(CustomerKey.halves).map { CustomerHalves(high: $0.0, low: $0.1) }
            if customerHalves == nil { customerText = newValue }
        }
    }
    /// The customer key's bytes, when it has the form of one: the cooldown of a customer-scoped rule is keyed by
    /// them, and its hex text is formatted only for an alert. Setting them replaces a key given as other text.
    var customerHalves: CustomerHalves? {
        didSet { if customerHalves != nil { customerText = nil } }
    }
    /// A customer key without that form, as given.
    private var customerText: String?
    /// What a customer-scoped rule groups the event by: its customer, or "anonymous" for every event without one in
    /// the store. There is nobody to call back per anonymous event, and keying those by event sent one alert per
    /// anonymous kiosk answer (a quarter of the standard workload's churn-threat alerts), the "angry queue" that
    /// cooldowns exist to group.
    var customerScope: String { customerKey ?? "anonymous" }

    /// A customer key's 16 bytes, as `CustomerKey.Halves` in a hashable form.
    struct CustomerHalves: Sendable, Hashable {
        var high: UInt64
        var low: UInt64
    }
    /// Event time in epoch milliseconds (windows and cooldowns use the caller's clock).
    public var timeMs: Int64
    /// Enriched compound sentiment in [-1, 1].
    public var compound: Double
    /// Intents found in the text.
    public var intents: Set<Enrichment.Intent.Kind> {
        get { Set(Enrichment.Intent.Kind.allCases.filter { intentBits.contains($0) }) }
        set { intentBits = KindSet(newValue) }
    }
    /// The same as a bit mask: the rules test it for every event, and a `Set` per event cost an allocation.
    var intentBits = KindSet()
    /// Survey or review score, if the event carries one, as given: a CSAT of 2.5 is not a 2.
    public var score: Double?
    /// Which scale `score` is on.
    public var scoreKind: ScoreKind?
    /// Events flagged bot, spam or near-duplicate do not count towards alerts.
    public var suppressed: Bool

    /// The score as an alert's message gives it, "-" without one.
    var scoreText: String { score.map { ScoreKind.describe($0, on: scoreKind) } ?? "-" }

    public init(
        eventID: String, storeID: String, channel: String? = nil, customerKey: String? = nil, timeMs: Int64,
        compound: Double, intents: Set<Enrichment.Intent.Kind> = [], score: Double? = nil, scoreKind: ScoreKind? = nil,
        suppressed: Bool = false
    ) {
        self.init(
            event: .text(eventID), storeID: storeID, channel: channel, customerKey: customerKey, timeMs: timeMs,
            compound: compound, intents: intents, score: score, scoreKind: scoreKind, suppressed: suppressed)
    }

    /// The same with the event's id as the caller holds it (the agent passes the parsed UUID).
    public init(
        event: EventReference, storeID: String, channel: String? = nil, customerKey: String? = nil, timeMs: Int64,
        compound: Double, intents: Set<Enrichment.Intent.Kind> = [], score: Double? = nil, scoreKind: ScoreKind? = nil,
        suppressed: Bool = false
    ) {
        self.event = event
        self.storeID = storeID
        self.channel = channel
        self.customerHalves = nil
        self.customerText = nil
        self.timeMs = timeMs
        self.compound = compound
        self.intentBits = KindSet(intents)
        self.score = score
        self.scoreKind = scoreKind
        self.suppressed = suppressed
        if let customerKey { self.customerKey = customerKey }
    }
}

/// How urgent an alert is (ordered).
public enum AlertSeverity: String, Sendable, Hashable, Codable, Comparable, CaseIterable {
    case info, warning, critical
    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One configurable alert rule. Flat and `Codable` so that it reads naturally in YAML/JSON config:
///
/// ```yaml
/// - id: negative-spike
///   condition: negative_spike
///   count: 5
///   windowSeconds: 900
///   severity: critical
///   cooldownSeconds: 3600
/// ```
public struct AlertRule: Codable, Sendable, Hashable {
    /// What triggers the rule.
    public enum Condition: String, Codable, Sendable, Hashable, CaseIterable {
        /// compound ≤ `threshold` (default -0.5)
        case sentimentAtOrBelow = "sentiment_at_or_below"
        /// NPS score 0...`threshold` (default 6)
        case npsDetractor = "nps_detractor"
        /// CSAT ≤ `threshold` (default 2)
        case csatAtOrBelow = "csat_at_or_below"
        /// customer effort score ≥ `threshold` on the 1-7 scale (default 5); a 1-5 score is mapped onto it
        case highEffort = "high_effort"
        /// the event has the intent named in `intent`
        case intent
        /// at least `count` negative events (compound ≤ `threshold`, or a complaint) at one store within `windowSeconds`
        case negativeSpike = "negative_spike"
    }
    /// How events are grouped for cooldown: one alert per store, per store and customer, or per event.
    public enum DedupScope: String, Codable, Sendable, Hashable {
        case store, storeChannel = "store_channel", customer, event
    }

    /// Stable identifier used in configuration and in alert records.
    public var id: String
    /// What triggers it.
    public var condition: Condition
    /// Threshold of the condition (defaults per condition when nil).
    public var threshold: Double?
    /// Intent kind for `condition == .intent`.
    public var intent: Enrichment.Intent.Kind?
    /// Events needed in the window for `negative_spike` (default 5).
    public var count: Int?
    /// Sliding window of `negative_spike` (default 900 s).
    public var windowSeconds: Int?
    /// How urgent the alert is.
    public var severity: AlertSeverity
    /// After an alert, further matches with the same de-duplication key are suppressed for this long.
    public var cooldownSeconds: Int
    /// Grouping for cooldown and de-duplication (default per store).
    public var dedupScope: DedupScope?

    public init(
        id: String, condition: Condition, threshold: Double? = nil, intent: Enrichment.Intent.Kind? = nil,
        count: Int? = nil, windowSeconds: Int? = nil, severity: AlertSeverity = .warning, cooldownSeconds: Int = 1800,
        dedupScope: DedupScope? = nil
    ) {
        self.id = id
        self.condition = condition
        self.threshold = threshold
        self.intent = intent
        self.count = count
        self.windowSeconds = windowSeconds
        self.severity = severity
        self.cooldownSeconds = cooldownSeconds
        self.dedupScope = dedupScope
    }

    /// The rule set used when configuration names none (thresholds from DESIGN.md §5).
    public static let defaults: [AlertRule] = [
        AlertRule(
            id: "very-negative", condition: .sentimentAtOrBelow, threshold: -0.5, severity: .warning,
            cooldownSeconds: 900, dedupScope: .store),
        AlertRule(
            id: "nps-detractor", condition: .npsDetractor, threshold: 6, severity: .warning, cooldownSeconds: 900,
            dedupScope: .store),
        AlertRule(
            id: "csat-low", condition: .csatAtOrBelow, threshold: 2, severity: .warning, cooldownSeconds: 900,
            dedupScope: .store),
        AlertRule(
            id: "high-effort", condition: .highEffort, threshold: 5, severity: .info, cooldownSeconds: 1800,
            dedupScope: .store),
        AlertRule(
            id: "complaint", condition: .intent, intent: .complaint, severity: .info, cooldownSeconds: 900,
            dedupScope: .store),
        AlertRule(
            id: "churn-threat", condition: .intent, intent: .cancellation, severity: .warning, cooldownSeconds: 3600,
            dedupScope: .customer),
        AlertRule(
            id: "negative-spike", condition: .negativeSpike, threshold: -0.5, count: 5, windowSeconds: 900,
            severity: .critical, cooldownSeconds: 3600, dedupScope: .store),
    ]

    /// A rule's seconds as milliseconds, from 0 to 100 years: they come from configuration, and the engine adds and
    /// subtracts them from event times, where a value near `Int64.max` would overflow and trap.
    static func millis(_ seconds: Int) -> Int64 {
        Int64(min(max(seconds, 0), 100 * 365 * 24 * 3600)) * 1000
    }

    /// The longest cooldown a hub setting may give every rule: 30 days.
    public static let maxCooldownSeconds = 30 * 24 * 3600

    /// The hub settings that change how stores alert (`cx config set SCOPE NAME VALUE`).
    public static let settingNames = ["alert_sentiment_threshold", "alert_cooldown_seconds", "alert_rules_disabled"]

    /// Why `value` is not a valid value of the alert setting `name`; nil when it is, or when `name` is not an alert
    /// setting. The hub refuses such a value when it is set, and an agent that receives one reports it and keeps its
    /// rules.
    public static func settingProblem(name: String, value: String) -> String? {
        switch name {
        case "alert_sentiment_threshold":
            // Below 0: an event without text, and every neutral one, scores 0, and at 0 each was "very negative".
            guard let v = Double(value), (-1 ... -0.05).contains(v) else {
                return "'\(value)' is not a number from -1 to -0.05"
            }
        case "alert_cooldown_seconds":
            guard let v = Int(value), (0...maxCooldownSeconds).contains(v) else {
                return "'\(value)' is not a whole number of seconds from 0 to \(maxCooldownSeconds) (30 days)"
            }
        case "alert_rules_disabled":
            let known = Set(defaults.map(\.id))
            for id in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
            where !known.contains(id) {
                return "no rule '\(id)' (rules: \(defaults.map(\.id).joined(separator: ", ")))"
            }
        default:
            // The alert_ names are the stores' alert settings: a misspelt one ("alert_cooldown") was answered "ok" and
            // changed nothing. Other names are the hub's free settings.
            if name.hasPrefix("alert_") {
                return "not an alert setting (the alert settings are \(settingNames.joined(separator: ", ")))"
            }
            return nil
        }
        return nil
    }

    /// What the de-duplication key (`rule|scope`) adds to the rule id: the store, channel, customer or event it is scoped to.
    func scopeKey(_ e: AlertEvent) -> String {
        switch dedupScope ?? .store {
        case .store: return e.storeID
        case .storeChannel: return "\(e.storeID)|\(e.channel ?? "-")"
        case .customer: return "\(e.storeID)|\(e.customerScope)"
        case .event: return e.eventID
        }
    }
}

/// An alert to raise locally (kiosk screen, store webhook), produced by `AlertRuleEngine`.
public struct InsightAlert: Sendable, Hashable, Codable {
    /// Deterministic id: rule, the time it was raised and the de-duplication scope, so replays agree.
    public var id: String
    /// The rule that fired.
    public var ruleID: String
    /// What triggers it.
    public var condition: AlertRule.Condition
    /// How urgent the alert is.
    public var severity: AlertSeverity
    /// Store the event belongs to; alerts and spike windows are per store.
    public var storeID: String
    /// Human-readable de-duplication key (rule, store, scope part).
    public var dedupKey: String
    /// When it was raised (the caller's time).
    public var raisedAtMs: Int64
    /// The event(s) that triggered it (for a spike, the negative events in the window).
    public var eventIDs: [String]
    /// Matches suppressed by the cooldown of this key since the previous alert with the same key.
    public var suppressedSincePrevious: Int
    /// Short text for the kiosk or back-office screen.
    public var message: String
}

/// Local alert rules as a pure state machine: `(state, event, time) -> (state', alerts)`.
///
/// No clock, no I/O, no tasks: the caller passes the time (event time for replays, wall clock live),
/// persists what it returns, and may keep the engine in its actor. Cooldown and de-duplication keep
/// "one angry queue" from sending fifty alerts: after an alert, further matches with the same key
/// are counted, not raised, until the cooldown ends. Memory is bounded: spike windows keep only
/// events inside their window, cooldown entries expire.
public struct AlertRuleEngine: Sendable, Hashable {
    /// The configured rules, in evaluation order.
    public private(set) var rules: [AlertRule]
    /// Per store: spike windows and cooldowns of store-scoped rules (one hash lookup per event).
    private var stores: [String: StoreState] = [:]
    /// Cooldowns of rules scoped finer than the store (customer, channel, event), one entry per key.
    private var cooldowns: [Key: Cooldown] = [:]
    /// The events of the latest spike alert of each key of a spike rule scoped finer than the store, for the retry of
    /// the event that completed it (`Cooldown.raisedBy`). Spike alerts are rare: a few entries.
    private var spikeEvents: [Key: [String]] = [:]
    private var processed = 0
    /// What each rule tests, without its strings: every event is tested against every rule, and copying an
    /// `AlertRule` (retaining its id and optionals) per test was a good part of the engine's cost.
    private let matchers: [Matcher]
    /// The rules scoped per customer, bit i for rule i as in `Matched.mask` (rules from 64 on are tested one by one).
    private let customerScoped: UInt64
    /// What an event needs to match any rule. Most events have none of it, and `match` returns for them without
    /// testing each rule.
    private let needs: Needs

    struct Matcher: Sendable, Hashable {
        var condition: AlertRule.Condition
        var threshold: Double
        var intent: KindSet
        var scope: AlertRule.DedupScope
        var window: Int64
        var need: Int
        var cooldown: Int64

        init(_ r: AlertRule) {
            condition = r.condition
            switch r.condition {
            case .sentimentAtOrBelow, .negativeSpike: threshold = r.threshold ?? -0.5
            case .npsDetractor: threshold = r.threshold ?? 6
            case .csatAtOrBelow: threshold = r.threshold ?? 2
            case .highEffort: threshold = r.threshold ?? 5
            case .intent: threshold = 0
            }
            intent = KindSet(r.intent.map { [$0] } ?? [])
            scope = r.dedupScope ?? .store
            window = AlertRule.millis(r.windowSeconds ?? 900)
            need = max(1, r.count ?? 5)
            cooldown = AlertRule.millis(r.cooldownSeconds)
        }

        var storeScoped: Bool { scope == .store }

        @inline(__always) func matches(_ e: Signals) -> Bool {
            switch condition {
            case .sentimentAtOrBelow: return e.compound <= threshold
            case .npsDetractor:
                return e.scoreKind == .nps && (e.score.map { $0 >= 0 && $0 <= threshold } ?? false)
            case .csatAtOrBelow: return e.scoreKind == .csat && (e.score.map { $0 <= threshold } ?? false)
            case .highEffort:
                guard let score = e.score, let effort = e.scoreKind?.effortOnSevenPoints(score) else { return false }
                return effort >= threshold
            case .intent: return intent.bits != 0 && e.intentBits.bits & intent.bits != 0
            case .negativeSpike: return e.compound <= threshold || e.intentBits.contains(.complaint)
            }
        }

        /// What an event needs for `matches` to accept it.
        var needs: Needs {
            switch condition {
            case .sentimentAtOrBelow: Needs(atOrBelow: threshold)
            case .negativeSpike: Needs(atOrBelow: threshold, intents: KindSet([.complaint]))
            case .intent: Needs(intents: intent)
            case .npsDetractor, .csatAtOrBelow, .highEffort: Needs(score: true)
            }
        }
    }

    /// What an event needs to match a rule, or any of several (`union`): a compound at or below `atOrBelow`, an
    /// intent of `intents`, or a score when `score`.
    struct Needs: Sendable, Hashable {
        var atOrBelow = -Double.infinity
        var intents = KindSet()
        var score = false

        func union(_ o: Needs) -> Needs {
            Needs(
                atOrBelow: max(atOrBelow, o.atOrBelow), intents: KindSet(bits: intents.bits | o.intents.bits),
                score: score || o.score)
        }

        /// Whether `e` has none of it, so that no rule of these needs can match it.
        @inline(__always) func excludes(_ e: Signals) -> Bool {
            e.compound > atOrBelow && e.intentBits.bits & intents.bits == 0 && (e.score == nil || !score)
        }
    }

    /// What the rules test of an event: its scores and intents, without its ids and strings.
    struct Signals {
        var compound: Double
        var intentBits: KindSet
        var score: Double?
        var scoreKind: ScoreKind?
    }

    struct StoreState: Sendable, Hashable {
        var windows: [[SpikeEntry]]
        /// Per rule, the store's cooldown (store-scoped rules only).
        var cooldowns: [Cooldown]
        /// Per spike rule, the window of its latest alert: its events are named again for the retry of the event that
        /// completed it, and a producer's retry of them does not count toward the next spike.
        var lastSpike: [[SpikeEntry]]
        init(_ n: Int) {
            windows = Array(repeating: [], count: n)
            cooldowns = Array(repeating: .never, count: n)
            lastSpike = Array(repeating: [], count: n)
        }
    }

    /// A cooldown, of a store for a store-scoped rule or of a key for a finer one: when it last raised an alert, and
    /// how many of its matches were suppressed since.
    struct Cooldown: Sendable, Hashable {
        var lastRaised: Int64
        var suppressed: Int
        /// The event whose match raised the alert (`EventReference.tag`; 0 for none); a spike's events are in
        /// `StoreState.lastSpike` and `spikeEvents`. A request refused after its analysis (the buffer full) leaves its
        /// cooldowns started, and the producer's retry of the event must raise the alert again, not be suppressed by
        /// an alert never stored. Plain data, so that the cooldowns (a table entry per customer for the churn rule)
        /// copy without reference counting.
        var raisedBy: UInt64 = 0
        /// A key that has not raised an alert.
        static let never = Cooldown(lastRaised: .min, suppressed: 0)

        /// Whether `tag` is the event that raised this cooldown's alert.
        @inline(__always) func raised(by tag: UInt64) -> Bool { tag != 0 && raisedBy == tag && lastRaised != .min }

        /// The cooldown's alert raised again for the retry of its event: the same events (`ids`, a spike's), the
        /// cooldown unchanged.
        func again(_ rule: AlertRule, _ event: AlertEvent, _ now: Int64, ids: [String]?) -> InsightAlert {
            AlertRuleEngine.alert(rule, event, ids ?? [event.eventID], suppressed, now)
        }
    }

    /// A match of a cooldown's key at `now`: nil when the cooldown suppresses it (counted), otherwise the matches
    /// suppressed since the previous alert, and the cooldown starts again. A time before the last alert (the clock
    /// moved back) is not suppressed.
    static func admit(_ c: inout Cooldown, now: Int64, cooldown: Int64, by tag: UInt64 = 0) -> Int? {
        if c.lastRaised != .min, now - c.lastRaised < cooldown, now >= c.lastRaised {
            c.suppressed += 1
            return nil
        }
        let suppressed = c.suppressed
        c = Cooldown(lastRaised: now, suppressed: 0, raisedBy: tag)
        return suppressed
    }

    /// `admit`, but a retry of the event that raised the cooldown's alert (`tag`) calls `again` with the matches
    /// suppressed since, and leaves the cooldown as it is (returns nil).
    @inline(__always)
    static func admit(
        _ c: inout Cooldown, now: Int64, cooldown: Int64, by tag: UInt64, again: (Int) -> Void
    ) -> Int? {
        if c.raised(by: tag) {
            again(c.suppressed)
            return nil
        }
        return admit(&c, now: now, cooldown: cooldown, by: tag)
    }

    /// De-duplication key for rules scoped finer than a store. A customer is keyed by the 16 bytes of its key, not
    /// its hex text: the table holds a key per customer for an hour (the churn rule's cooldown), and a string of
    /// 32 characters each was a heap allocation per customer, long-lived among the requests' short-lived ones.
    struct Key: Sendable, Hashable {
        var rule: Int
        var store: String
        var extra: Extra

        enum Extra: Sendable, Hashable {
            case text(String)
            case customer(AlertEvent.CustomerHalves)
        }
    }

    static func key(_ ri: Int, _ scope: AlertRule.DedupScope, _ e: AlertEvent) -> Key {
        switch scope {
        case .store: Key(rule: ri, store: e.storeID, extra: .text(""))
        case .storeChannel: Key(rule: ri, store: e.storeID, extra: .text(e.channel ?? "-"))
        case .customer:
            Key(rule: ri, store: e.storeID, extra: e.customerHalves.map { .customer($0) } ?? .text(e.customerScope))
        case .event: Key(rule: ri, store: "", extra: .text(e.eventID))
        }
    }

    struct SpikeEntry: Sendable, Hashable {
        var timeMs: Int64
        var event: EventReference
        /// `event.tag`, compared as a number when a retried event is looked for in the window.
        var tag: UInt64
    }

    public init(rules: [AlertRule] = AlertRule.defaults) {
        self.rules = rules
        matchers = rules.map(Matcher.init)
        customerScoped = matchers.prefix(64).enumerated().reduce(0) { mask, m in
            m.element.scope == .customer ? mask | UInt64(1) << UInt64(m.offset) : mask
        }
        needs = matchers.reduce(Needs()) { $0.union($1.needs) }
    }

    /// An engine for `rules` that keeps what `old` knew of the rules both have (same id and scope): their cooldowns
    /// and spike windows. A setting from the hub (or the same settings sent again) built a fresh engine, and every
    /// store alerted again at its next match, its spikes in progress lost.
    public init(rules: [AlertRule], keeping old: AlertRuleEngine) {
        self.init(rules: rules)
        var oldIndex: [Int: Int] = [:]
        for (i, rule) in rules.enumerated() {
            if let j = old.rules.firstIndex(where: { $0.id == rule.id && $0.dedupScope == rule.dedupScope }) {
                oldIndex[i] = j
            }
        }
        guard !oldIndex.isEmpty else { return }
        let newIndex = Dictionary(oldIndex.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        for (store, was) in old.stores {
            var st = StoreState(rules.count)
            for (i, j) in oldIndex {
                st.windows[i] = was.windows[j]
                st.cooldowns[i] = was.cooldowns[j]
                st.lastSpike[i] = was.lastSpike[j]
            }
            stores[store] = st
        }
        for (key, cooldown) in old.cooldowns {
            guard let i = newIndex[key.rule] else { continue }
            var moved = key
            moved.rule = i
            cooldowns[moved] = cooldown
        }
        for (key, ids) in old.spikeEvents {
            guard let i = newIndex[key.rule] else { continue }
            var moved = key
            moved.rule = i
            spikeEvents[moved] = ids
        }
        processed = old.processed
    }

    /// Whether a rule of `matched` is scoped per customer: only such a rule reads the event's customer key (most
    /// matches are store-scoped, and a caller without the key's bytes formats its text for it).
    func needsCustomer(_ matched: Matched) -> Bool {
        matched.mask & customerScoped != 0 || matched.extra.contains { matchers[$0].scope == .customer }
    }

    /// Feeds one event; returns the alerts to raise now (possibly none).
    public mutating func process(_ event: AlertEvent, nowMs: Int64? = nil) -> [InsightAlert] {
        let signals = Signals(
            compound: event.compound, intentBits: event.intentBits, score: event.score, scoreKind: event.scoreKind)
        guard let matched = match(signals, suppressed: event.suppressed, nowMs: nowMs ?? event.timeMs) else {
            return []
        }
        return raise(event, matched)
    }

    /// The rules an event matches, bit i for rule i; rules from 64 on are listed in `extra`.
    struct Matched {
        var mask: UInt64
        var extra: [Int]
        var nowMs: Int64

        /// Calls `body` with each matched rule's index, in rule order.
        @inline(__always) func forEachRule(_ body: (Int) -> Void) {
            var m = mask
            while m != 0 {
                body(m.trailingZeroBitCount)
                m &= m - 1
            }
            for ri in extra { body(ri) }
        }
    }

    /// The first half of `process(_:nowMs:)`: counts the event and tests the rules on its signals; nil when it is
    /// suppressed or matches none. The caller builds an `AlertEvent`, which copies the event's strings, only for an
    /// event that matched; `raise(_:_:)` is the second half.
    mutating func match(_ signals: Signals, suppressed isSuppressed: Bool, nowMs now: Int64) -> Matched? {
        processed += 1
        if processed % 4096 == 0 { prune(now) }
        if isSuppressed { return nil }
        if needs.excludes(signals) { return nil }
        var mask: UInt64 = 0
        var extra: [Int] = []
        matchers.withUnsafeBufferPointer { ms in
            for ri in ms.indices where ms[ri].matches(signals) {
                if ri < 64 { mask |= UInt64(1) << UInt64(ri) } else { extra.append(ri) }
            }
        }
        if mask == 0 && extra.isEmpty { return nil }
        return Matched(mask: mask, extra: extra, nowMs: now)
    }

    /// The second half of `process(_:nowMs:)`: windows, cooldowns and the alerts of the rules `matched` found.
    mutating func raise(_ event: AlertEvent, _ matched: Matched) -> [InsightAlert] {
        let now = matched.nowMs
        var out: [InsightAlert] = []
        let n = rules.count
        let ms = matchers
        let rulesCopy = rules
        // The ids in the window of each rule scoped finer than the store whose spike window filled (rare: such rules
        // are not among the defaults); those rules are handled below, after the store's.
        var finerSpikes: [(rule: Int, ids: [String])] = []
        let tag = event.event.tag
        // everything store-scoped happens inside one in-place access to the store's state
        withStore(event.storeID, n) { st in
            matched.forEachRule { ri in
                let matcher = ms[ri]
                if matcher.storeScoped && st.cooldowns[ri].raised(by: tag) {
                    let ids = st.lastSpike[ri].isEmpty ? nil : st.lastSpike[ri].map(\.event.string)
                    return out.append(st.cooldowns[ri].again(rulesCopy[ri], event, now, ids: ids))
                }
                var isSpike = false
                if matcher.condition == .negativeSpike {
                    let t = event.timeMs
                    // a retried event is counted once, and not again once a spike alert named it
                    if tag == 0
                        || !(st.windows[ri].contains(where: { $0.tag == tag })
                            || st.lastSpike[ri].contains(where: { $0.tag == tag }))
                    {
                        Self.slide(
                            &st.windows[ri], SpikeEntry(timeMs: t, event: event.event, tag: tag), keep: matcher.need)
                    }
                    if let f = st.windows[ri].first, f.timeMs <= t - matcher.window || f.timeMs > t {
                        st.windows[ri].removeAll { $0.timeMs <= t - matcher.window || $0.timeMs > t }
                    }
                    guard st.windows[ri].count >= matcher.need else { return }
                    isSpike = true
                }
                if !matcher.storeScoped {
                    if isSpike { finerSpikes.append((ri, st.windows[ri].map(\.event.string))) }
                    return
                }
                guard let sup = Self.admit(&st.cooldowns[ri], now: now, cooldown: matcher.cooldown, by: tag) else {
                    return
                }
                // The event ids are gathered only for an alert that is raised, not for every suppressed match.
                let ids = isSpike ? st.windows[ri].map(\.event.string) : [event.eventID]
                if isSpike {
                    // the window moves to the alert's record, and starts empty
                    st.lastSpike[ri] = st.windows[ri]
                    st.windows[ri].removeAll()
                }
                out.append(Self.alert(rulesCopy[ri], event, ids, sup, now))
            }
        }
        // Rules scoped finer than the store, in rule order, without an array of them per event: the default churn
        // rule (per customer) matches every churn threat.
        matched.forEachRule { ri in
            let matcher = ms[ri]
            if matcher.storeScoped { return }
            let key = Self.key(ri, matcher.scope, event)
            var ids: [String]? = nil
            if matcher.condition == .negativeSpike {
                guard let spike = finerSpikes.first(where: { $0.rule == ri }) else {
                    // its window did not fill: no alert, as for a store-scoped spike, unless this is the retry of the
                    // event that completed the key's last spike
                    if let c = cooldowns[key], c.raised(by: tag) {
                        out.append(c.again(rulesCopy[ri], event, now, ids: spikeEvents[key]))
                    }
                    return
                }
                ids = spike.ids
            }
            // one access to the key's entry: the churn rule comes here for every churn threat
            var again: Int?
            let admitted = Self.admit(&cooldowns[key, default: .never], now: now, cooldown: matcher.cooldown, by: tag) {
                again = $0
            }
            if let sup = again {
                return out.append(Self.alert(rulesCopy[ri], event, spikeEvents[key] ?? [event.eventID], sup, now))
            }
            guard let sup = admitted else { return }
            if let ids { spikeEvents[key] = ids }
            out.append(Self.alert(rulesCopy[ri], event, ids ?? [event.eventID], sup, now))
        }
        return out
    }

    /// Appends `entry` to a spike window that keeps only its latest `keep` entries: only they decide a spike, and
    /// keeping more would grow the window with the event rate during a cooldown and make every negative event
    /// cost O(window). Windows grow only here, so a full one drops exactly its oldest entry.
    @inline(__always) static func slide(_ w: inout [SpikeEntry], _ entry: SpikeEntry, keep: Int) {
        guard w.count >= keep else { return w.append(entry) }
        // moved down, not swapped: the four swaps of a full window copied its entries through their outlined copies
        w.removeFirst()
        w.append(entry)
    }

    private mutating func withStore(_ id: String, _ n: Int, _ body: (inout StoreState) -> Void) {
        if let i = stores.index(forKey: id) {
            body(&stores.values[i])
        } else {
            var st = StoreState(n)
            body(&st)
            stores[id] = st
        }
    }

    static func alert(_ rule: AlertRule, _ event: AlertEvent, _ ids: [String], _ sup: Int, _ now: Int64) -> InsightAlert
    {
        let scope = rule.scopeKey(event)
        // Time first: stores keep alerts in id order, and ids that grow with time are appended at the end of the
        // table. With the rule first, each rule's alerts went to the end of its own range, inside the table, where
        // SQLite rebalances a full page with its neighbours instead of starting a fresh page at the end.
        return InsightAlert(
            id: "\(sortableTime(now))|\(rule.id)|\(scope)", ruleID: rule.id, condition: rule.condition,
            severity: rule.severity, storeID: event.storeID, dedupKey: "\(rule.id)|\(scope)", raisedAtMs: now,
            eventIDs: ids, suppressedSincePrevious: sup, message: Self.message(rule, event, ids.count))
    }

    /// `ms` as at least 13 digits (milliseconds since 1970 until the year 2286), so that ids sort by time.
    static func sortableTime(_ ms: Int64) -> String {
        let digits = String(ms)
        guard ms >= 0 && digits.utf8.count < 13 else { return digits }
        return String(repeating: "0", count: 13 - digits.utf8.count) + digits
    }

    static func message(_ r: AlertRule, _ e: AlertEvent, _ n: Int) -> String {
        switch r.condition {
        case .sentimentAtOrBelow: return "Very negative feedback at \(e.storeID) (sentiment \(e.compound))"
        case .npsDetractor: return "NPS detractor at \(e.storeID) (score \(e.scoreText))"
        case .csatAtOrBelow: return "Low CSAT at \(e.storeID) (score \(e.scoreText))"
        case .highEffort: return "High customer effort at \(e.storeID) (score \(e.scoreText))"
        case .intent: return "\(r.intent?.rawValue ?? "intent") at \(e.storeID)"
        case .negativeSpike: return "\(n) negative events at \(e.storeID) within \((r.windowSeconds ?? 900) / 60) min"
        }
    }

    /// Drops cooldown entries and window events that can no longer matter at `nowMs`.
    public mutating func prune(_ nowMs: Int64) {
        let maxCooldown = AlertRule.millis(rules.map(\.cooldownSeconds).max() ?? 0)
        // In place: rebuilt by `filter` every 4,096 events, the table of a few thousand customers was rehashed whole
        // and then grew back, entry by entry. Under a live store's load nearly every entry is
        // still in its cooldown, and nothing is removed.
        var expired: [Key] = []
        for (key, cooldown) in cooldowns where nowMs - cooldown.lastRaised >= maxCooldown { expired.append(key) }
        for key in expired { cooldowns.removeValue(forKey: key) }
        let maxWindow = AlertRule.millis(rules.compactMap(\.windowSeconds).max() ?? 900)
        var idle: [String] = []
        // by index, not over `stores.indices`, which would hold the storage and make the first write copy it
        var i = stores.startIndex
        while i != stores.endIndex {
            defer { stores.formIndex(after: &i) }
            var live = false
            for ri in stores.values[i].windows.indices {
                stores.values[i].windows[ri].removeAll { $0.timeMs <= nowMs - maxWindow }
                if !stores.values[i].windows[ri].isEmpty { live = true }
                let last = stores.values[i].cooldowns[ri].lastRaised
                if last != .min && nowMs - last < maxCooldown {
                    live = true
                } else if last != .min {
                    stores.values[i].cooldowns[ri] = .never
                    stores.values[i].lastSpike[ri] = []
                }
            }
            if !live { idle.append(stores.keys[i]) }
        }
        for id in idle { stores.removeValue(forKey: id) }
        // a spike's events matter while its cooldown lasts
        spikeEvents = spikeEvents.filter { key, _ in cooldowns[key] != nil }
    }

    /// Number of keys currently in cooldown (for metrics and tests).
    public var activeCooldowns: Int {
        cooldowns.count + stores.values.reduce(0) { $0 + $1.cooldowns.filter { $0.lastRaised != .min }.count }
    }
}
