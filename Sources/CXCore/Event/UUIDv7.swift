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
        String(unsafeUninitializedCapacity: 36) { out in
            writeLowercased(to: UnsafeMutableRawPointer(out.baseAddress!))
            return 36
        }
    }

    /// Appends `lowercasedString`'s 36 bytes to `out` without making the string: a response that names a hundred
    /// events would otherwise allocate and free a string for each.
    public func appendLowercased(to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 36))
        out.withUnsafeMutableBytes { writeLowercased(to: $0.baseAddress! + start) }
    }

    private func writeLowercased(to out: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: uuid) { b in
            let hex: StaticString = "0123456789abcdef"
            var o = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out.storeBytes(of: UInt8(ascii: "-"), toByteOffset: o, as: UInt8.self)
                    o += 1
                }
                out.storeBytes(of: hex.utf8Start[Int(b[i] >> 4)], toByteOffset: o, as: UInt8.self)
                out.storeBytes(of: hex.utf8Start[Int(b[i] & 0xF)], toByteOffset: o + 1, as: UInt8.self)
                o += 2
            }
        }
    }
}
