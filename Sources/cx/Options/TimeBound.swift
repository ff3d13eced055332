import ArgumentParser
import Foundation

/// A point in time on the command line: RFC 3339 (`2024-05-01T09:00:00Z`), a date (`2024-05-01`, UTC midnight),
/// `now`, a span ago (`24h`, `7d`, `1h30m`, `2w`; units s, m, h, d, w) or Unix milliseconds.
struct TimeBound: ExpressibleByArgument, Sendable, Equatable {
    /// Unix milliseconds.
    var millis: Int64

    init(millis: Int64) {
        self.millis = millis
    }

    init?(argument: String) {
        guard let millis = Self.parse(argument, now: Date()) else { return nil }
        self.millis = millis
    }

    /// Unix milliseconds for `text`, with relative spans counted back from `now`.
    static func parse(_ text: String, now: Date) -> Int64? {
        let text = text.trimmingCharacters(in: .whitespaces)
        let nowMillis = Int64((now.timeIntervalSince1970 * 1000).rounded())
        if text.lowercased() == "now" {
            return nowMillis
        }
        if let span = spanMillis(text.hasPrefix("-") ? String(text.dropFirst()) : text) {
            return nowMillis - span
        }
        if !text.isEmpty, text.allSatisfy(\.isNumber), let ms = Int64(text) {
            return ms
        }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) {
                return Int64((date.timeIntervalSince1970 * 1000).rounded())
            }
        }
        return nil
    }

    /// `1h30m` → 5,400,000; nil unless the whole text is number-unit pairs.
    static func spanMillis(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
        var total: Int64 = 0
        var digits = ""
        var sawPair = false
        for c in text {
            if c.isASCII && c.isNumber {
                digits.append(c)
            } else if let unit = units[c], let n = Int64(digits) {
                let (product, overflow) = n.multipliedReportingOverflow(by: unit)
                let (sum, sumOverflow) = total.addingReportingOverflow(product)
                guard !overflow, !sumOverflow else { return nil }
                total = sum
                digits = ""
                sawPair = true
            } else {
                return nil
            }
        }
        return sawPair && digits.isEmpty ? total : nil
    }
}
