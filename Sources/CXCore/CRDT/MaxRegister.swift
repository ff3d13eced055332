/// A register over a total order joined by `max`: the smallest CRDT for a state that only moves forward.
public struct MaxRegister<Value: Sendable & Hashable & Comparable>: CRDT, Hashable {
    public private(set) var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public mutating func merge(_ other: MaxRegister<Value>) {
        if other.value > value { value = other.value }
    }
}

extension MaxRegister: Codable where Value: Codable {}

/// Where an alert stands; it only moves forward, so concurrent updates join to the furthest state.
public enum AlertStatus: Int, Sendable, Hashable, Comparable, Codable, CaseIterable, CustomStringConvertible {
    case open = 1
    case acknowledged = 2
    case resolved = 3

    public static func < (lhs: AlertStatus, rhs: AlertStatus) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .open: "open"
        case .acknowledged: "acknowledged"
        case .resolved: "resolved"
        }
    }

    public init?(name: String) {
        guard let status = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = status
    }
}

/// The replicated state of one alert: a lattice status plus LWW note and assignee.
public struct AlertState: CRDT, Hashable {
    public var status: MaxRegister<AlertStatus>
    public var note: LWWRegister<String>?
    public var assignee: LWWRegister<String>?

    public init(status: AlertStatus = .open, note: LWWRegister<String>? = nil, assignee: LWWRegister<String>? = nil) {
        self.status = MaxRegister(status)
        self.note = note
        self.assignee = assignee
    }

    public mutating func merge(_ other: AlertState) {
        status.merge(other.status)
        note.merge(other.note)
        assignee.merge(other.assignee)
    }
}
