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
        let a = Array(b)
        precondition(a.count == 16, "a UUID has 16 bytes")
        self.init(
            uuid: (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15])
        )
    }

    /// The 16 bytes, in network order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }
}
