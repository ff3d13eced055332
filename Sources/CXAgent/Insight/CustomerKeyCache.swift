import CXCore

/// Recent customer identifiers and their keyed hashes (`CustomerIdentifierHasher`), as the key's two halves.
///
/// Customers come back, and hashing is a good part of a first-seen event's cost, so every enriched event with an
/// identifier looks here first. Identifiers of up to 15 bytes (loyalty ids, most phone numbers) sit inline in an
/// open-addressing table with a seeded multiply hash, two slots to a cache line: one probe is usually one line.
/// A `[String: String]` hashed each identifier with SipHash, read a key and a value array, and retained the key's
/// hex string, whose storage was rarely in the cache (about 0.26 us per event, measured live). Longer identifiers
/// (e-mail addresses) go to a dictionary. The keys stay bytes: the stored row takes the 16 bytes, and the hex form is
/// built only for the events that match an alert rule.
///
/// Bounded: both parts are cleared when full, as a cache may be; probes are bounded too, so that identifiers chosen
/// to collide cost a rehash of a few, never a scan.
struct CustomerKeyCache: Sendable {
    /// Up to 15 identifier bytes, zero-padded, with their count in the last byte (0: an empty slot), and the key's
    /// halves.
    struct Slot: Sendable {
        var id0: UInt64 = 0
        var id1: UInt64 = 0
        var key0: UInt64 = 0
        var key1: UInt64 = 0
    }

    private var slots: [Slot]
    private var used = 0
    private var long: [String: CustomerKey.Halves] = [:]
    /// Most identifiers held in each part before it is cleared.
    let capacity: Int
    private let seed: UInt64
    static let maxProbes = 32
    static let inlineBytes = 15

    /// Identifiers held, inline and long.
    var count: Int { used + long.count }

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        slots = Array(repeating: Slot(), count: 1024)
        seed = UInt64.random(in: .min ... .max) | 1
    }

    /// The key of `id`: from the cache, or from `hash` (nil when the identifier cannot be normalised; not cached).
    mutating func key(_ id: String, hash: (String) -> CustomerKey.Halves?) -> CustomerKey.Halves? {
        var id = id
        let inline: (UInt64, UInt64)? = id.withUTF8 { bytes in
            guard !bytes.isEmpty, bytes.count <= Self.inlineBytes else { return nil }
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) {
                $0.copyMemory(from: UnsafeRawBufferPointer(bytes))
                $0[15] = UInt8(bytes.count)
            }
            return words
        }
        guard let (id0, id1) = inline else {
            if let key = long[id] { return key }
            guard let key = hash(id) else { return nil }
            if long.count >= capacity { long.removeAll(keepingCapacity: true) }
            long[id] = key
            return key
        }
        if let key = find(id0, id1) { return key }
        guard let key = hash(id) else { return nil }
        insert(Slot(id0: id0, id1: id1, key0: key.0, key1: key.1))
        return key
    }

    private func find(_ id0: UInt64, _ id1: UInt64) -> CustomerKey.Halves? {
        slots.withUnsafeBufferPointer { slots in
            let mask = slots.count - 1
            let start = Self.mix(id0, id1, seed)
            for probe in 0..<Self.maxProbes {
                let s = slots[(start &+ probe) & mask]
                if s.id1 == 0 { return nil }
                if s.id0 == id0 && s.id1 == id1 { return (s.key0, s.key1) }
            }
            return nil
        }
    }

    private mutating func insert(_ slot: Slot) {
        if used >= capacity {
            for i in slots.indices { slots[i] = Slot() }
            used = 0
        } else if 4 * (used + 1) > 3 * slots.count {
            // Grown as customers come, so that a store with a few hundred keeps its table in the cache.
            let old = slots
            slots = Array(repeating: Slot(), count: 2 * old.count)
            used = 0
            for s in old where s.id1 != 0 { place(s) }
        }
        place(slot)
    }

    /// Puts `slot` in its first free probe, or, after a run of colliding identifiers, over its first probe (a cache
    /// may forget).
    private mutating func place(_ slot: Slot) {
        let mask = slots.count - 1
        let start = Self.mix(slot.id0, slot.id1, seed)
        for probe in 0..<Self.maxProbes where slots[(start &+ probe) & mask].id1 == 0 {
            slots[(start &+ probe) & mask] = slot
            used += 1
            return
        }
        slots[start & mask] = slot
    }

    /// A 64-bit multiply-fold of the two words under `seed`, as an index.
    @inline(__always)
    static func mix(_ a: UInt64, _ b: UInt64, _ seed: UInt64) -> Int {
        let x = (a ^ seed).multipliedFullWidth(by: b ^ 0x9E37_79B9_7F4A_7C15)
        let y = (x.high ^ x.low).multipliedFullWidth(by: seed)
        return Int(truncatingIfNeeded: y.high ^ y.low)
    }
}
