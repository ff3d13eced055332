import Foundation
import Logging

enum TestEvents {
    static func json(
        id: UUID = UUID(), store: String = "store-001", channel: String = "kiosk", text: String = "ok",
        ts: Int64 = 1_704_067_200_000, customer: String? = nil
    ) -> String {
        "{\"event_id\":\"\(id.uuidString.lowercased())\",\"store_id\":\"\(store)\",\"device_id\":\"\(store)-\(channel)-01\","
            + "\"channel\":\"\(channel)\",\"ts\":\(ts),\"type\":\"survey_nps\",\"score\":7,\"text\":\"\(text)\""
            + (customer.map { ",\"customer_id\":\"\($0)\"" } ?? "") + "}"
    }

    static func ndjson(_ ids: [UUID]) -> [UInt8] {
        Array(ids.map { json(id: $0) }.joined(separator: "\n").utf8)
    }

    /// One event per customer, the i-th with `texts[i]` as its text when there is one.
    static func ndjson(customers: [String], texts: [String] = []) -> [UInt8] {
        let lines = customers.enumerated().map { i, c in json(text: i < texts.count ? texts[i] : "ok", customer: c) }
        return Array(lines.joined(separator: "\n").utf8)
    }
}

var testLogger: Logger {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}
