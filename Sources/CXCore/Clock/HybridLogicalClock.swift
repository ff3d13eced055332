/// Raised when a remote timestamp is further ahead of the local wall clock than the configured drift.
public struct ClockDriftError: Error, Sendable, Hashable, CustomStringConvertible {
    public var remote: HLCTimestamp
    public var localWallMillis: Int64
    public var maxDriftMillis: Int64

    public var description: String {
        let ahead = remote.wallMillis - localWallMillis
        return "clock_drift: remote timestamp \(remote) is \(ahead) ms ahead of the local clock "
            + "(maximum allowed drift \(maxDriftMillis) ms)"
    }
}

/// The clock state machine: pure, so that callers decide where wall time comes from (tests inject jumps).
///
/// Timestamps it issues never go backwards, even when the wall clock does.
public struct HybridLogicalClock: Sendable, Hashable {
    public private(set) var last: HLCTimestamp
    public var maxDriftMillis: Int64

    public init(maxDrift: Duration = .seconds(300), last: HLCTimestamp = .zero) {
        self.last = last
        let (seconds, attoseconds) = maxDrift.components
        self.maxDriftMillis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// A timestamp for a local or send event.
    public mutating func tick(wallMillis: Int64) -> HLCTimestamp {
        if wallMillis > last.wallMillis {
            last = HLCTimestamp(wallMillis: wallMillis, counter: 0)
        } else {
            last = Self.successor(of: last)
        }
        return last
    }

    /// Folds in a timestamp received from another node and returns the timestamp of the receive event.
    ///
    /// A remote timestamp more than `maxDriftMillis` ahead of `wallMillis` is refused and leaves the clock
    /// unchanged, so that one device with a wrong clock cannot drag the whole fleet into the future.
    public mutating func receive(_ remote: HLCTimestamp, wallMillis: Int64) throws(ClockDriftError) -> HLCTimestamp {
        if remote.wallMillis - wallMillis > maxDriftMillis {
            throw ClockDriftError(remote: remote, localWallMillis: wallMillis, maxDriftMillis: maxDriftMillis)
        }
        let wall = max(wallMillis, last.wallMillis, remote.wallMillis)
        let next: HLCTimestamp
        if wall == last.wallMillis && wall == remote.wallMillis {
            next = Self.successor(of: HLCTimestamp(wallMillis: wall, counter: max(last.counter, remote.counter)))
        } else if wall == last.wallMillis {
            next = Self.successor(of: last)
        } else if wall == remote.wallMillis {
            next = Self.successor(of: remote)
        } else {
            next = HLCTimestamp(wallMillis: wall, counter: 0)
        }
        last = next
        return next
    }

    /// The next timestamp; a full counter spills into the millisecond so that order is never lost.
    static func successor(of t: HLCTimestamp) -> HLCTimestamp {
        if t.counter == .max {
            return HLCTimestamp(wallMillis: t.wallMillis + 1, counter: 0)
        }
        return HLCTimestamp(wallMillis: t.wallMillis, counter: t.counter + 1)
    }
}
