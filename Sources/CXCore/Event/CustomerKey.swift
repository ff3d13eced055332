#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A customer's pseudonymous key as `CustomerIdentifierHasher` makes it, the first 16 bytes of an HMAC-SHA256:
/// events carry it as 32 lowercase hex digits, the agent's buffer as the bytes themselves.
public enum CustomerKey {
    /// Bytes in a key.
    public static let byteCount = 16

    /// A key's bytes as two big-endian halves: the first 8 bytes, then the last 8.
    public typealias Halves = (UInt64, UInt64)

    /// Lowercase hex of the key whose halves are `key`, as `hex(_:)` writes it.
    public static func hex(_ key: Halves) -> String {
        withUnsafeBytes(of: (key.0.bigEndian, key.1.bigEndian)) { hex($0) }
    }

    /// Lowercase hex of the first `count` bytes of `bytes` (a key's by default).
    public static func hex(_ bytes: some ContiguousBytes, count: Int = byteCount) -> String {
        bytes.withUnsafeBytes { raw in
            let n = Swift.min(count, raw.count)
            return String(unsafeUninitializedCapacity: n * 2) { out in
                for i in 0..<n {
                    let b = raw[i]
                    out[2 * i] = b >> 4 < 10 ? 0x30 + b >> 4 : 0x57 + b >> 4
                    out[2 * i + 1] = b & 0x0F < 10 ? 0x30 + b & 0x0F : 0x57 + b & 0x0F
                }
                return n * 2
            }
        }
    }

    /// The key's bytes as two big-endian halves when `text` is a key as events carry it (32 lowercase hex digits,
    /// the only form `hex` writes); nil for any other identifier.
    public static func halves(_ text: String) -> Halves? {
        var text = text
        return text.withUTF8 { b -> Halves? in
            guard b.count == 2 * byteCount else { return nil }
            // Table-driven, without a branch per digit: a switch on each digit mispredicted on about half of them
            // (digits and letters alternate at random), a tenth of a microsecond per enriched event at ingest.
            return digitValues.withUnsafeBufferPointer { values -> Halves? in
                var invalid: UInt8 = 0
                func half(_ start: Int) -> UInt64 {
                    var h: UInt64 = 0
                    for i in start..<(start + byteCount) {
                        let v = values[Int(b[i])]
                        invalid |= v
                        h = h << 4 | UInt64(v)
                    }
                    return h
                }
                let halves = (half(0), half(byteCount))
                return invalid & 0xF0 == 0 ? halves : nil
            }
        }
    }

    /// Each byte's value as a lowercase hex digit, 0xFF for any other byte.
    private static let digitValues: [UInt8] = (0...255).map { c in
        switch UInt8(c) {
        case 0x30...0x39: UInt8(c) - 0x30
        case 0x61...0x66: UInt8(c) - 0x61 + 10
        default: 0xFF
        }
    }
}
