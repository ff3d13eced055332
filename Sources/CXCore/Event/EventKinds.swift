/// Where a customer interaction happened.
public enum Channel: String, Sendable, Hashable, Codable, CaseIterable {
    case kiosk, pos, web, mobile, chat, email, social, phone
}

/// The stage of the customer journey an interaction belongs to.
public enum JourneyStage: String, Sendable, Hashable, Codable, CaseIterable {
    case awareness, consideration, purchase
    case postPurchase = "post_purchase"
    case support, loyalty
}

/// What kind of interaction an event records.
///
/// Canonical names use dots (`survey.nps`); producers may send the underscore spelling (`survey_nps`)
/// and a few common aliases (`pos_txn`), which are normalised on ingest.
public enum EventType: String, Sendable, Hashable, Codable, CaseIterable {
    case surveyNPS = "survey.nps"
    case surveyCSAT = "survey.csat"
    case surveyCES = "survey.ces"
    case feedback
    case chatMessage = "chat.message"
    case posTransaction = "pos.transaction"
    case posRefund = "pos.refund"
    case review
    case socialMention = "social.mention"
    case supportTicket = "support.ticket"

    /// Accepts the canonical name, its underscore spelling, or a known alias.
    public init?(name: String) {
        if let t = EventType(rawValue: name) {
            self = t
            return
        }
        switch name {
        case "pos_txn", "pos.txn": self = .posTransaction
        default:
            guard let t = EventType(rawValue: name.replacingUnderscoresWithDots()) else { return nil }
            self = t
        }
    }

    /// The scale a score of this type uses when the producer names none.
    public var defaultScale: ScoreScale? {
        switch self {
        case .surveyNPS: .nps
        case .surveyCSAT: .csat
        case .surveyCES: .ces7
        case .review: .stars
        default: nil
        }
    }
}

/// The scale of a score, so that a CES of 4 on 1–5 is not read as a CES of 4 on 1–7.
public enum ScoreScale: String, Sendable, Hashable, Codable, CaseIterable {
    case nps = "nps_0_10"
    case csat = "csat_1_5"
    case ces5 = "ces_1_5"
    case ces7 = "ces_1_7"
    case stars = "stars_1_5"

    public var range: ClosedRange<Double> {
        switch self {
        case .nps: 0...10
        case .csat, .ces5, .stars: 1...5
        case .ces7: 1...7
        }
    }
}

/// A score with its scale.
public struct Score: Sendable, Hashable, Codable {
    public var value: Double
    public var scale: ScoreScale

    public init(value: Double, scale: ScoreScale) {
        self.value = value
        self.scale = scale
    }
}

extension String {
    func replacingUnderscoresWithDots() -> String {
        String(unicodeScalars.map { $0 == "_" ? "." : Character($0) })
    }
}
