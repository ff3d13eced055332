/// The names of a small closed set (an enum's raw values and aliases, none longer than 16 bytes) matched by
/// comparing two words per entry: an enum's `init(rawValue:)` compared whole strings case by case, and a dictionary
/// hashed the name first, both several times the cost on the ingest path's four lookups per event.
struct NameTable<Value: Sendable>: Sendable {
    private var words: [(UInt64, UInt64, Int)] = []
    private var values: [Value] = []

    init(_ entries: [(String, Value)]) {
        for (name, value) in entries {
            var name = name
            let packed = name.withUTF8 { b -> (UInt64, UInt64)? in Self.pack(b) }
            guard let packed else { preconditionFailure("a NameTable name has at most 16 bytes: \(name)") }
            words.append((packed.0, packed.1, name.utf8.count))
            values.append(value)
        }
    }

    /// The value named exactly `name`, or nil.
    func callAsFunction(_ name: String) -> Value? {
        var name = name
        return name.withUTF8 { b -> Value? in
            guard let (w0, w1) = Self.pack(b) else { return nil }
            for i in words.indices where words[i].0 == w0 && words[i].1 == w1 && words[i].2 == b.count {
                return values[i]
            }
            return nil
        }
    }

    private static func pack(_ b: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard b.count <= 16 else { return nil }
        var w: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &w) { $0.copyMemory(from: UnsafeRawBufferPointer(b)) }
        return w
    }
}
