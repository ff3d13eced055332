import CXCore

/// The score an event carries, by survey type, for detractor / CSAT / effort rules.
public enum ScoreKind: String, Sendable, Hashable, Codable {
    case nps, csat, ces, review
}

/// What the alert rules look at for one event: a summary of the enriched event, not the text.
public struct AlertEvent: Sendable, Hashable {
    public var eventID: String
    public var storeID: String
    public var channel: String?
    /// Hashed customer key, for rules de-duplicated per customer.
    public var customerKey: String?
    public var timeMs: Int64
    public var compound: Double
    public var intents: Set<Enrichment.Intent.Kind>
    public var score: Int?
    public var scoreKind: ScoreKind?
    /// Events flagged bot, spam or near-duplicate do not count towards alerts.
    public var suppressed: Bool

    public init(
        eventID: String, storeID: String, channel: String? = nil, customerKey: String? = nil, timeMs: Int64,
        compound: Double, intents: Set<Enrichment.Intent.Kind> = [], score: Int? = nil, scoreKind: ScoreKind? = nil,
        suppressed: Bool = false
    ) {
        self.eventID = eventID
        self.storeID = storeID
        self.channel = channel
        self.customerKey = customerKey
        self.timeMs = timeMs
        self.compound = compound
        self.intents = intents
        self.score = score
        self.scoreKind = scoreKind
        self.suppressed = suppressed
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
        /// customer effort score ≥ `threshold` (default 5 on a 1-7 scale)
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

    public var id: String
    public var condition: Condition
    public var threshold: Double?
    public var intent: Enrichment.Intent.Kind?
    public var count: Int?
    public var windowSeconds: Int?
    public var severity: AlertSeverity
    /// After an alert, further matches with the same de-duplication key are suppressed for this long.
    public var cooldownSeconds: Int
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
        AlertRule(id: "very-negative", condition: .sentimentAtOrBelow, threshold: -0.5, severity: .warning, cooldownSeconds: 900, dedupScope: .store),
        AlertRule(id: "nps-detractor", condition: .npsDetractor, threshold: 6, severity: .warning, cooldownSeconds: 900, dedupScope: .store),
        AlertRule(id: "csat-low", condition: .csatAtOrBelow, threshold: 2, severity: .warning, cooldownSeconds: 900, dedupScope: .store),
        AlertRule(id: "high-effort", condition: .highEffort, threshold: 5, severity: .info, cooldownSeconds: 1800, dedupScope: .store),
        AlertRule(id: "complaint", condition: .intent, intent: .complaint, severity: .info, cooldownSeconds: 900, dedupScope: .store),
        AlertRule(id: "churn-threat", condition: .intent, intent: .cancellation, severity: .warning, cooldownSeconds: 3600, dedupScope: .customer),
        AlertRule(id: "negative-spike", condition: .negativeSpike, threshold: -0.5, count: 5, windowSeconds: 900, severity: .critical, cooldownSeconds: 3600, dedupScope: .store),
    ]

    func matches(_ e: AlertEvent) -> Bool {
        switch condition {
        case .sentimentAtOrBelow: return e.compound <= (threshold ?? -0.5)
        case .npsDetractor: return e.scoreKind == .nps && (e.score.map { $0 >= 0 && Double($0) <= (threshold ?? 6) } ?? false)
        case .csatAtOrBelow: return e.scoreKind == .csat && (e.score.map { Double($0) <= (threshold ?? 2) } ?? false)
        case .highEffort: return e.scoreKind == .ces && (e.score.map { Double($0) >= (threshold ?? 5) } ?? false)
        case .intent: return intent.map { e.intents.contains($0) } ?? false
        case .negativeSpike: return e.compound <= (threshold ?? -0.5) || e.intents.contains(.complaint)
        }
    }

    func dedupKey(_ e: AlertEvent) -> String {
        switch dedupScope ?? (condition == .negativeSpike ? .store : .store) {
        case .store: return "\(id)|\(e.storeID)"
        case .storeChannel: return "\(id)|\(e.storeID)|\(e.channel ?? "-")"
        case .customer: return "\(id)|\(e.storeID)|\(e.customerKey ?? e.eventID)"
        case .event: return "\(id)|\(e.eventID)"
        }
    }
}

/// An alert to raise locally (kiosk screen, store webhook), produced by `AlertRuleEngine`.
public struct InsightAlert: Sendable, Hashable, Codable {
    /// Deterministic id: rule, de-duplication key and the time it was raised, so replays agree.
    public var id: String
    public var ruleID: String
    public var condition: AlertRule.Condition
    public var severity: AlertSeverity
    public var storeID: String
    public var dedupKey: String
    public var raisedAtMs: Int64
    /// The event(s) that triggered it (for a spike, the negative events in the window).
    public var eventIDs: [String]
    /// Matches suppressed by the cooldown of this key since the previous alert with the same key.
    public var suppressedSincePrevious: Int
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
    public private(set) var rules: [AlertRule]
    private var lastRaised: [String: Int64] = [:]
    private var suppressed: [String: Int] = [:]
    /// per rule id + store: (time, event id) of recent negative events
    private var windows: [String: [SpikeEntry]] = [:]
    private var processed = 0

    struct SpikeEntry: Sendable, Hashable {
        var timeMs: Int64
        var eventID: String
    }

    public init(rules: [AlertRule] = AlertRule.defaults) {
        self.rules = rules
    }

    /// Feeds one event; returns the alerts to raise now (possibly none).
    public mutating func process(_ event: AlertEvent, nowMs: Int64? = nil) -> [InsightAlert] {
        let now = nowMs ?? event.timeMs
        processed += 1
        if processed % 1024 == 0 { prune(now) }
        if event.suppressed { return [] }
        var out: [InsightAlert] = []
        for rule in rules {
            guard rule.matches(event) else { continue }
            var ids = [event.eventID]
            if rule.condition == .negativeSpike {
                let wkey = "\(rule.id)|\(event.storeID)"
                let window = Int64(rule.windowSeconds ?? 900) * 1000
                let t = event.timeMs
                let size: Int = {
                    // mutate in place: no copy of the window per event
                    windows[wkey, default: []].append(SpikeEntry(timeMs: t, eventID: event.eventID))
                    if let f = windows[wkey]?.first, f.timeMs <= t - window || f.timeMs > t {
                        windows[wkey]!.removeAll { $0.timeMs <= t - window || $0.timeMs > t }
                    }
                    return windows[wkey]!.count
                }()
                guard size >= max(1, rule.count ?? 5) else { continue }
                ids = windows[wkey]!.map(\.eventID)
            }
            let key = rule.dedupKey(event)
            let cooldown = Int64(rule.cooldownSeconds) * 1000
            if let last = lastRaised[key], now - last < cooldown, now >= last {
                suppressed[key, default: 0] += 1
                continue
            }
            let sup = suppressed.removeValue(forKey: key) ?? 0
            lastRaised[key] = now
            if rule.condition == .negativeSpike {
                // start counting afresh so that the next spike needs `count` new events
                windows["\(rule.id)|\(event.storeID)"] = []
            }
            out.append(
                InsightAlert(
                    id: "\(key)|\(now)", ruleID: rule.id, condition: rule.condition, severity: rule.severity,
                    storeID: event.storeID, dedupKey: key, raisedAtMs: now, eventIDs: ids,
                    suppressedSincePrevious: sup, message: Self.message(rule, event, ids.count)))
        }
        return out
    }

    static func message(_ r: AlertRule, _ e: AlertEvent, _ n: Int) -> String {
        switch r.condition {
        case .sentimentAtOrBelow: return "Very negative feedback at \(e.storeID) (sentiment \(e.compound))"
        case .npsDetractor: return "NPS detractor at \(e.storeID) (score \(e.score ?? -1))"
        case .csatAtOrBelow: return "Low CSAT at \(e.storeID) (score \(e.score ?? -1))"
        case .highEffort: return "High customer effort at \(e.storeID) (score \(e.score ?? -1))"
        case .intent: return "\(r.intent?.rawValue ?? "intent") at \(e.storeID)"
        case .negativeSpike: return "\(n) negative events at \(e.storeID) within \((r.windowSeconds ?? 900) / 60) min"
        }
    }

    /// Drops cooldown entries and window events that can no longer matter at `nowMs`.
    public mutating func prune(_ nowMs: Int64) {
        let maxCooldown = Int64(rules.map(\.cooldownSeconds).max() ?? 0) * 1000
        lastRaised = lastRaised.filter { nowMs - $0.value < maxCooldown }
        suppressed = suppressed.filter { lastRaised[$0.key] != nil }
        let maxWindow = Int64(rules.compactMap(\.windowSeconds).max() ?? 900) * 1000
        windows = windows.compactMapValues { w in
            let k = w.filter { $0.timeMs > nowMs - maxWindow }
            return k.isEmpty ? nil : k
        }
    }

    /// Number of keys currently in cooldown (for metrics and tests).
    public var activeCooldowns: Int { lastRaised.count }
}
