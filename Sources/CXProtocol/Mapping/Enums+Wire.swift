import CXCore

// The wire enums mirror CXCore's; `.unspecified` and unknown numbers map to nil (refused by validation).

extension Cxsync_V1_Channel {
    init(_ c: Channel) {
        self =
            switch c {
            case .kiosk: .kiosk
            case .pos: .pos
            case .web: .web
            case .mobile: .mobile
            case .chat: .chat
            case .email: .email
            case .social: .social
            case .phone: .phone
            }
    }
}

extension Channel {
    init?(_ c: Cxsync_V1_Channel) {
        switch c {
        case .kiosk: self = .kiosk
        case .pos: self = .pos
        case .web: self = .web
        case .mobile: self = .mobile
        case .chat: self = .chat
        case .email: self = .email
        case .social: self = .social
        case .phone: self = .phone
        default: return nil
        }
    }
}

extension Cxsync_V1_EventType {
    init(_ t: EventType) {
        self =
            switch t {
            case .surveyNPS: .surveyNps
            case .surveyCSAT: .surveyCsat
            case .surveyCES: .surveyCes
            case .feedback: .feedback
            case .chatMessage: .chatMessage
            case .posTransaction: .posTransaction
            case .posRefund: .posRefund
            case .review: .review
            case .socialMention: .socialMention
            case .supportTicket: .supportTicket
            }
    }
}

extension EventType {
    init?(_ t: Cxsync_V1_EventType) {
        switch t {
        case .surveyNps: self = .surveyNPS
        case .surveyCsat: self = .surveyCSAT
        case .surveyCes: self = .surveyCES
        case .feedback: self = .feedback
        case .chatMessage: self = .chatMessage
        case .posTransaction: self = .posTransaction
        case .posRefund: self = .posRefund
        case .review: self = .review
        case .socialMention: self = .socialMention
        case .supportTicket: self = .supportTicket
        default: return nil
        }
    }
}

extension Cxsync_V1_JourneyStage {
    init(_ s: JourneyStage) {
        self =
            switch s {
            case .awareness: .awareness
            case .consideration: .consideration
            case .purchase: .purchase
            case .postPurchase: .postPurchase
            case .support: .support
            case .loyalty: .loyalty
            }
    }
}

extension JourneyStage {
    init?(_ s: Cxsync_V1_JourneyStage) {
        switch s {
        case .awareness: self = .awareness
        case .consideration: self = .consideration
        case .purchase: self = .purchase
        case .postPurchase: self = .postPurchase
        case .support: self = .support
        case .loyalty: self = .loyalty
        default: return nil
        }
    }
}

extension Cxsync_V1_ScoreScale {
    init(_ s: ScoreScale) {
        self =
            switch s {
            case .nps: .nps010
            case .csat: .csat15
            case .ces5: .ces15
            case .ces7: .ces17
            case .stars: .stars15
            }
    }
}

extension ScoreScale {
    init?(_ s: Cxsync_V1_ScoreScale) {
        switch s {
        case .nps010: self = .nps
        case .csat15: self = .csat
        case .ces15: self = .ces5
        case .ces17: self = .ces7
        case .stars15: self = .stars
        default: return nil
        }
    }
}

extension Cxsync_V1_IntentKind {
    init(_ k: Enrichment.Intent.Kind) {
        self =
            switch k {
            case .complaint: .complaint
            case .refund: .refund
            case .cancellation: .cancellation
            case .praise: .praise
            case .question: .question
            }
    }
}

extension Enrichment.Intent.Kind {
    init?(_ k: Cxsync_V1_IntentKind) {
        switch k {
        case .complaint: self = .complaint
        case .refund: self = .refund
        case .cancellation: self = .cancellation
        case .praise: self = .praise
        case .question: self = .question
        default: return nil
        }
    }
}

extension Cxsync_V1_AlertStatus {
    public init(_ s: AlertStatus) {
        self =
            switch s {
            case .open: .open
            case .acknowledged: .acknowledged
            case .resolved: .resolved
            }
    }
}

extension AlertStatus {
    public init?(_ s: Cxsync_V1_AlertStatus) {
        switch s {
        case .open: self = .open
        case .acknowledged: self = .acknowledged
        case .resolved: self = .resolved
        default: return nil
        }
    }
}
