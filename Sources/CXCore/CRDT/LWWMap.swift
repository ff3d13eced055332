/// A value or the tombstone of a removed one; a removal is an ordinary LWW write.
public enum LWWEntry<Value: Sendable & Hashable & Comparable>: Sendable, Hashable, Comparable {
    case removed
    case value(Value)

    public var value: Value? {
        if case .value(let v) = self { return v }
        return nil
    }

    public static func < (lhs: LWWEntry<Value>, rhs: LWWEntry<Value>) -> Bool {
        switch (lhs, rhs) {
        case (.removed, .removed): false
        case (.removed, .value): true
        case (.value, .removed): false
        case (.value(let a), .value(let b)): a < b
        }
    }
}

/// A map of LWW registers: customer profile fields, consent per purpose, the theme owner table, configuration.
///
/// Removal keeps a tombstone with its stamp, so a stale write cannot resurrect a removed key.
public struct LWWMap<Key: Sendable & Hashable, Value: Sendable & Hashable & Comparable>: CRDT, Hashable {
    public private(set) var entries: [Key: LWWRegister<LWWEntry<Value>>]

    public init() {
        self.entries = [:]
    }

    public subscript(key: Key) -> Value? {
        entries[key]?.value.value
    }

    /// The live keys and values (tombstones left out).
    public var values: [Key: Value] {
        entries.compactMapValues { $0.value.value }
    }

    @discardableResult
    public mutating func set(_ key: Key, _ value: Value, stamp: LWWStamp) -> Bool {
        write(key, .value(value), stamp: stamp)
    }

    @discardableResult
    public mutating func remove(_ key: Key, stamp: LWWStamp) -> Bool {
        write(key, .removed, stamp: stamp)
    }

    public func stamp(of key: Key) -> LWWStamp? {
        entries[key]?.stamp
    }

    public mutating func merge(_ other: LWWMap<Key, Value>) {
        for (key, register) in other.entries {
            write(key, register.value, stamp: register.stamp)
        }
    }

    @discardableResult
    mutating func write(_ key: Key, _ entry: LWWEntry<Value>, stamp: LWWStamp) -> Bool {
        if var current = entries[key] {
            let won = current.assign(entry, stamp: stamp)
            if won { entries[key] = current }
            return won
        }
        entries[key] = LWWRegister(entry, stamp: stamp)
        return true
    }
}
