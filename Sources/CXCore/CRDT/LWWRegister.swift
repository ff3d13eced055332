/// A last-writer-wins register ordered by (HLC, node id).
///
/// Equal stamps with different values cannot come from a correct node, but merge still has to be a join
/// for them, so the larger value wins: that keeps merge commutative whatever the input.
public struct LWWRegister<Value: Sendable & Hashable & Comparable>: CRDT, Hashable {
    public private(set) var value: Value
    public private(set) var stamp: LWWStamp

    public init(_ value: Value, stamp: LWWStamp) {
        self.value = value
        self.stamp = stamp
    }

    /// Writes `value` if `stamp` is newer than the current one; returns whether it won.
    @discardableResult
    public mutating func assign(_ value: Value, stamp: LWWStamp) -> Bool {
        guard Self.wins(stamp, value, over: self.stamp, self.value) else { return false }
        self.value = value
        self.stamp = stamp
        return true
    }

    public mutating func merge(_ other: LWWRegister<Value>) {
        assign(other.value, stamp: other.stamp)
    }

    static func wins(_ stamp: LWWStamp, _ value: Value, over current: LWWStamp, _ currentValue: Value) -> Bool {
        if stamp != current { return stamp > current }
        return value > currentValue
    }
}

extension LWWRegister: Codable where Value: Codable {}

extension Optional where Wrapped: CRDT {
    /// Joins optional CRDTs with `nil` as the bottom element.
    public mutating func merge(_ other: Wrapped?) {
        guard let other else { return }
        if var mine = self {
            mine.merge(other)
            self = mine
        } else {
            self = other
        }
    }
}
