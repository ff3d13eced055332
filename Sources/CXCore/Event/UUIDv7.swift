#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension UUID {
    /// A time-ordered UUID (RFC 9562 version 7): 48 bits of Unix milliseconds, then random bits.
    ///
    /// Used for ids the agent assigns itself, because random keys make SQLite b-tree inserts 3.5× slower.
    public static func v7(unixMillis: Int64, using generator: inout some RandomNumberGenerator) -> UUID {
        let ms = UInt64(max(0, unixMillis)) & 0xFFFF_FFFF_FFFF
        let randA = UInt16.random(in: 0...0x0FFF, using: &generator)
        let randB = UInt64.random(in: 0...UInt64.max, using: &generator)
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        bytes[6] = 0x70 | UInt8(randA >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: randA)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: randB >> 56) & 0x3F
        for i in 9..<16 { bytes[i] = UInt8(truncatingIfNeeded: randB >> (8 * UInt64(15 - i))) }
        return UUID(bytes: bytes)
    }

    public static func v7(unixMillis: Int64) -> UUID {
        var rng = SystemRandomNumberGenerator()
        return v7(unixMillis: unixMillis, using: &rng)
    }

    /// Builds a UUID from exactly 16 bytes (callers check the count).
    public init(bytes b: some Collection<UInt8>) {
        precondition(b.count == 16, "a UUID has 16 bytes")
        var t: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &t) { $0.copyBytes(from: b) }
        self.init(uuid: t)
    }

    /// The 16 bytes, in network order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    /// Lower-case `8-4-4-4-12` text, as producers get ids back and alerts name events (`uuidString` is upper-case).
    public var lowercasedString: String {
        withUnsafeBytes(of: uuid) { b in
            String(unsafeUninitializedCapacity: 36) { out in
                let hex: StaticString = "0123456789abcdef"
                var o = 0
                for i in 0..<16 {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[o] = UInt8(ascii: "-")
                        o += 1
                    }
                    out[o] = hex.utf8Start[Int(b[i] >> 4)]
                    out[o + 1] = hex.utf8Start[Int(b[i] & 0xF)]
                    o += 2
                }
                return 36
            }
        }
    }
}
