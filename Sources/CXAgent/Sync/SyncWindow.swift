/// Local times during which the agent may use the store's uplink, such as `22:00-06:00` (wrapping midnight).
public struct SyncWindow: Sendable, Hashable {
    /// Minutes after local midnight; `start == end` means all day.
    public var startMinute: Int
    public var endMinute: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Self.minute(parts[0]), let end = Self.minute(parts[1]) else { return nil }
        startMinute = start
        endMinute = end
    }

    static func minute(_ text: Substring) -> Int? {
        let hm = text.trimmingPrefix(" ").split(separator: ":", omittingEmptySubsequences: false)
        guard hm.count == 2, hm[0].count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]),
            (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        return h * 60 + m
    }

    /// Whether `minuteOfDay` (local) lies in the window.
    public func contains(minuteOfDay m: Int) -> Bool {
        if startMinute == endMinute { return true }
        if startMinute < endMinute { return m >= startMinute && m < endMinute }
        return m >= startMinute || m < endMinute
    }

    /// Minutes from `minuteOfDay` until the window opens (0 when open).
    public func minutesUntilOpen(minuteOfDay m: Int) -> Int {
        if contains(minuteOfDay: m) { return 0 }
        return (startMinute - m + 1440) % 1440
    }
}
