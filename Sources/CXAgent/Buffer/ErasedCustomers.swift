import CXCore
import CXInsight

/// The customers erased at the hub, as the agent checks new events against them: erasures are remove-wins
/// (DESIGN.md), so an erased customer's new events are refused rather than stored.
///
/// Subjects that are keyed hashes (what enriched events carry) are held as the key's halves, so that an event's key
/// is compared without building its hex text; every subject is also held as text (hubs before 7936a9e also erased an
/// identifier under itself). An identifier stored unhashed (enrichment off) is checked by its keyed hash
/// (`contains(unhashed:hashedBy:)`). `generation` grows with every erasure that comes down: a request checked under
/// an older one may hold events of a customer erased since.
public struct ErasedCustomers: Sendable {
    struct Key: Hashable {
        var high: UInt64
        var low: UInt64
    }

    private var keys: Set<Key> = []
    private var identifiers: Set<String> = []
    public private(set) var generation: UInt64 = 0

    public init() {}

    init(subjects: some Sequence<String>) {
        for s in subjects { insert(s) }
    }

    /// Whether no customer is erased: then nothing needs checking.
    public var isEmpty: Bool { identifiers.isEmpty }

    /// Whether the customer whose keyed hash is `key` is erased.
    public func contains(key: CustomerKey.Halves) -> Bool {
        !keys.isEmpty && keys.contains(Key(high: key.0, low: key.1))
    }

    /// Whether the customer stored under `identifier` (a key's hex text, or an identifier stored unhashed) is erased.
    public func contains(identifier: String) -> Bool {
        identifiers.contains(identifier)
    }

    /// `contains(identifier:)`, and for an identifier stored unhashed (enrichment off), whether its keyed hash by
    /// `hasher` is erased: the hub's tombstones hold only the hash.
    public func contains(unhashed identifier: String, hashedBy hasher: CustomerIdentifierHasher?) -> Bool {
        if identifiers.contains(identifier) { return true }
        guard !keys.isEmpty, CustomerKey.halves(identifier) == nil, let key = hasher?.key(identifier) else {
            return false
        }
        return contains(key: key)
    }

    /// Adds the subjects of erasures that came down, in a new generation.
    mutating func add(_ subjects: some Sequence<String>) {
        for s in subjects { insert(s) }
        generation += 1
    }

    private mutating func insert(_ subject: String) {
        identifiers.insert(subject)
        if let k = CustomerKey.halves(subject) { keys.insert(Key(high: k.0, low: k.1)) }
    }
}
