/// A state-based CRDT: `merge` is the lattice join, so it must be commutative, associative and idempotent.
///
/// Deltas (Almeida et al.) are values of the same type, so joining several updates before sending is `merge` too.
public protocol CRDT: Sendable, Equatable {
    mutating func merge(_ other: Self)
}

extension CRDT {
    /// The join of `self` and `other`, leaving both untouched.
    public func merging(_ other: Self) -> Self {
        var copy = self
        copy.merge(other)
        return copy
    }
}

/// The order of last-writer-wins: the HLC first, the writing node's id to break ties.
public struct LWWStamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var hlc: HLCTimestamp
    public var node: String

    public init(hlc: HLCTimestamp, node: String) {
        self.hlc = hlc
        self.node = node
    }

    public static func < (lhs: LWWStamp, rhs: LWWStamp) -> Bool {
        if lhs.hlc != rhs.hlc { return lhs.hlc < rhs.hlc }
        return lhs.node < rhs.node
    }

    public var description: String { "\(hlc)@\(node)" }
}
