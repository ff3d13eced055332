/// A Hybrid Logical Clock timestamp (Kulkarni et al.): wall-clock milliseconds plus a logical counter.
///
/// It orders events causally even when wall clocks disagree, and packs into one `UInt64`
/// (48 bits of milliseconds, 16 bits of counter) so that it sorts and stores cheaply.
public struct HLCTimestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch of the largest wall clock this clock has seen.
    public var wallMillis: Int64
    /// Orders events within one millisecond; fits in 16 bits.
    public var counter: UInt16

    public static let zero = HLCTimestamp(wallMillis: 0, counter: 0)

    public init(wallMillis: Int64, counter: UInt16 = 0) {
        self.wallMillis = wallMillis
        self.counter = counter
    }

    /// The packed form used on the wire and in storage.
    public init(rawValue: UInt64) {
        self.wallMillis = Int64(rawValue >> 16)
        self.counter = UInt16(truncatingIfNeeded: rawValue)
    }

    public var rawValue: UInt64 {
        UInt64(max(0, wallMillis)) << 16 | UInt64(counter)
    }

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool {
        (lhs.wallMillis, lhs.counter) < (rhs.wallMillis, rhs.counter)
    }

    public var description: String { "\(wallMillis).\(counter)" }
}
