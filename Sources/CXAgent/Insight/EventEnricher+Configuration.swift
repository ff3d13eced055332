import CXCore
import CXInsight
import Foundation
import Synchronization

/// Settings a CX lead sets at the hub (`cx config set SCOPE NAME VALUE`) that change how stores alert.
///
/// Scope `*` applies to every store, a store id to that store only (it wins over `*`). Unknown names and
/// unreadable values are reported, not applied.
public struct HubAlertSettings: Sendable, Hashable {
    /// `alert_sentiment_threshold`: compound at or below which an event is "very negative" (and counts
    /// toward a negative spike); -1 to 0.
    public var sentimentThreshold: Double?
    /// `alert_cooldown_seconds`: one cooldown for every rule.
    public var cooldownSeconds: Int?
    /// `alert_rules_disabled`: comma-separated rule ids that raise nothing.
    public var disabledRules: Set<String> = []
    /// What could not be applied, as `name: reason`.
    public var problems: [String] = []

    public static let names = AlertRule.settingNames

    /// The effective settings for `storeID` from the configuration entries received from the hub.
    public init(entries: [HubConfigEntry], storeID: String) {
        // A store's own value wins over `*`; a store's removed value (nil), or one that cannot apply (set before the
        // hub checked it), leaves `*`'s in force.
        var effective: [String: String] = [:]
        for scope in ["*", storeID] {
            for e in entries where e.collection == "config" && e.key == scope {
                if let value = e.value {
                    if let problem = AlertRule.settingProblem(name: e.field, value: value) {
                        problems.append("\(e.field): \(problem)")
                        if scope == "*" { effective.removeValue(forKey: e.field) }
                        continue
                    }
                    effective[e.field] = value
                } else if scope == "*" {
                    effective.removeValue(forKey: e.field)
                }
            }
        }
        for (name, value) in effective {
            switch name {
            case "alert_sentiment_threshold": sentimentThreshold = Double(value)
            case "alert_cooldown_seconds": cooldownSeconds = Int(value)
            case "alert_rules_disabled":
                disabledRules = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            default:
                problems.append("\(name): not a setting this agent knows")
            }
        }
    }

    /// The default rules with these settings applied.
    public func rules() -> [AlertRule] {
        AlertRule.defaults.compactMap { rule in
            guard !disabledRules.contains(rule.id) else { return nil }
            var r = rule
            if let t = sentimentThreshold, r.condition == .sentimentAtOrBelow || r.condition == .negativeSpike {
                r.threshold = t
            }
            if let c = cooldownSeconds { r.cooldownSeconds = c }
            return r
        }
    }
}

extension EventEnricher {
    /// Replaces the alert rules, keeping the cooldowns and spike windows of the rules that stay (nothing changes
    /// when the rules are the same); returns what was applied.
    @discardableResult
    public func apply(_ settings: HubAlertSettings) -> [AlertRule] {
        let rules = settings.rules()
        state.withLock { state in
            guard state.insight.alerts.rules != rules else { return }
            state.insight.alerts = AlertRuleEngine(rules: rules, keeping: state.insight.alerts)
        }
        return rules
    }
}
