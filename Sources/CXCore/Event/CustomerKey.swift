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
    public static func halves(_ text: String) -> (UInt64, UInt64)? {
        var text = text
        return text.withUTF8 { b -> (UInt64, UInt64)? in
            guard b.count == 2 * byteCount else { return nil }
            var halves: (UInt64, UInt64) = (0, 0)
            // a half is 8 bytes: the first 16 digits, then the last 16
            for i in 0..<b.count {
                let c = b[i]
                let v: UInt8
                switch c {
                case 0x30...0x39: v = c - 0x30
                case 0x61...0x66: v = c - 0x61 + 10
                default: return nil
                }
                if i < b.count / 2 {
                    halves.0 = halves.0 << 4 | UInt64(v)
                } else {
                    halves.1 = halves.1 << 4 | UInt64(v)
                }
            }
            return halves
        }
    }
}
