import Foundation

/// How the table format writes durations, offsets, times and decimals.
enum Formatting {
    /// `45s`, `12m`, `3h05m`, `2d04h`; `-` for nil.
    static func duration(seconds: Int64?) -> String {
        guard let seconds else { return "-" }
        let s = max(0, seconds)
        switch s {
        case ..<60: return "\(s)s"
        case ..<3600: return "\(s / 60)m\(pad(s % 60))s"
        case ..<86_400: return "\(s / 3600)h\(pad(s / 60 % 60))m"
        default: return "\(s / 86_400)d\(pad(s / 3600 % 24))h"
        }
    }

    /// A signed clock offset: `+0.25s`, `-3m05s`, `0s`.
    static func offset(millis: Int64?) -> String {
        guard let millis else { return "-" }
        if millis == 0 { return "0s" }
        let sign = millis < 0 ? "-" : "+"
        let magnitude = millis.magnitude
        if magnitude < 60_000 {
            return sign + decimal(Double(magnitude) / 1000, digits: 2) + "s"
        }
        return sign + duration(seconds: Int64(magnitude / 1000))
    }

    /// An RFC 3339 time from the hub without its fraction of a second: `2024-05-01T09:30:00Z`.
    static func time(_ rfc3339: String?) -> String {
        guard let rfc3339 else { return "-" }
        guard let dot = rfc3339.firstIndex(of: "."),
            let end = rfc3339[dot...].firstIndex(where: { !$0.isNumber && $0 != "." })
        else { return rfc3339 }
        return String(rfc3339[..<dot] + rfc3339[end...])
    }

    /// Up to `digits` decimals, trailing zeros dropped: `9`, `0.5`, `-0.33`.
    static func decimal(_ d: Double, digits: Int) -> String {
        var s = String(format: "%.\(digits)f", d)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// An RFC 3339 UTC time for Unix milliseconds.
    static func rfc3339(millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    private static func pad(_ n: Int64) -> String {
        n < 10 ? "0\(n)" : "\(n)"
    }
}
