/// One last-writer-wins write to a named field of a keyed object, the unit of mutable state on the wire.
///
/// `collection` names the map (`profile`, `consent`, `theme_owner`, `config`), `key` the object (a customer's
/// pseudonymous id), `field` the register inside it. A nil `value` removes the field.
public struct LWWUpdate: Sendable, Hashable, Codable {
    public var collection: String
    public var key: String
    public var field: String
    public var value: String?
    public var stamp: LWWStamp

    public init(collection: String, key: String, field: String, value: String?, stamp: LWWStamp) {
        self.collection = collection
        self.key = key
        self.field = field
        self.value = value
        self.stamp = stamp
    }

    /// The register this update writes.
    public struct Target: Sendable, Hashable {
        public var collection: String
        public var key: String
        public var field: String
    }

    public var target: Target { Target(collection: collection, key: key, field: field) }

    /// Joins updates to the same register, keeping the winner of each, in the order of first appearance.
    ///
    /// This is the delta-state join a batch applies before sending: ten writes to one field cost one.
    public static func joined(_ updates: some Sequence<LWWUpdate>) -> [LWWUpdate] {
        var index: [Target: Int] = [:]
        var result: [LWWUpdate] = []
        for update in updates {
            if let i = index[update.target] {
                let current = result[i]
                if LWWRegister<LWWEntry<String>>.wins(
                    update.stamp, update.entry, over: current.stamp, current.entry)
                {
                    result[i] = update
                }
            } else {
                index[update.target] = result.count
                result.append(update)
            }
        }
        return result
    }

    var entry: LWWEntry<String> { value.map(LWWEntry.value) ?? .removed }
}
