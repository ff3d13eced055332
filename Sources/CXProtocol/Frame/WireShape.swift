import CXCore

/// Counts of a batch's repeated messages, read from its protobuf bytes before they are decoded.
///
/// Decoding allocates a struct per item: an empty event is 2 bytes on the wire and a few hundred in memory, so a
/// signed batch of a few MiB of empty items made the hub allocate gigabytes before its counts were checked. The
/// batch's item counts (events, state items, each event's attributes and enrichment items) are checked here first,
/// against the limits its validation applies afterwards, so a batch this refuses would have been refused anyway.
enum WireShape {
    /// Refuses `message`, a `Batch`, when an item count passes its limit or its framing is broken.
    static func checkBatch(_ message: [UInt8], limits: ProtocolLimits) throws(ProtocolError) {
        try message.withUnsafeBufferPointer { (m) throws(ProtocolError) in
            // The counts first, then each item, in the order (and with the words) of the validation after decoding.
            var events = 0
            var stateItems = 0
            try forEachField(m, 0..<m.count) { (field, _, _) throws(ProtocolError) in
                switch field {
                case 8: events += 1
                case 9, 10, 11, 12: stateItems += 1
                default: break
                }
            }
            guard events <= limits.maxEventsPerBatch else {
                throw ProtocolError(.tooManyItems, "\(events) events exceed the limit of \(limits.maxEventsPerBatch)")
            }
            guard stateItems <= limits.maxStateItemsPerBatch else {
                throw ProtocolError(
                    .tooManyItems, "\(stateItems) state items exceed the limit of \(limits.maxStateItemsPerBatch)")
            }
            var index = 0
            try forEachField(m, 0..<m.count) { (field, value, _) throws(ProtocolError) in
                guard let value else { return }
                if field == 8 {
                    try checkEvent(m, value, limits: limits, index: index)
                    index += 1
                } else if field == 15 {
                    try checkColumns(m, value, limits: limits)
                }
            }
        }
    }

    private static func checkEvent(
        _ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, limits: ProtocolLimits, index: Int
    ) throws(ProtocolError) {
        var attributes = 0
        try forEachField(m, range) { (field, value, _) throws(ProtocolError) in
            if field == 16 {
                attributes += 1
                guard attributes <= limits.event.maxAttributes else {
                    throw ProtocolError(
                        .tooManyItems, "events[\(index)].attributes: more than \(limits.event.maxAttributes)")
                }
            } else if field == 17, let value {
                try checkEnrichment(m, value, limits: limits, index: index)
            }
        }
    }

    /// The column form's repeated fields, by field number: its name and how many entries a batch may need.
    static func columnLimits(_ limits: ProtocolLimits) -> [Int: (name: String, most: Int)] {
        let events = limits.maxEventsPerBatch
        let attributes = events * limits.event.maxAttributes
        var out: [Int: (name: String, most: Int)] = [
            2: ("strings", events * 4 + 2 * attributes), 22: ("attribute_keys", attributes),
            23: ("attribute_values", attributes),
        ]
        let perEvent = [
            4: "seq_deltas", 5: "occurred_at_deltas", 6: "hlc_skew_deltas", 7: "hlc_counters", 8: "store", 9: "device",
            10: "customer", 11: "channel", 12: "type", 13: "journey_stage", 14: "presence", 15: "score_scale",
            16: "score_milli", 17: "amount_milli", 18: "currency", 19: "text_lengths", 21: "attribute_counts",
        ]
        for (field, name) in perEvent { out[field] = (name, events) }
        return out
    }

    /// Every repeated column holds at most what a batch's events can need: a packed column decodes to an array of
    /// 8 or 16 bytes per 1-byte entry, an empty string to 16 bytes per 2.
    private static func checkColumns(_ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, limits: ProtocolLimits)
        throws(ProtocolError)
    {
        let most = columnLimits(limits)
        var entries: [Int: Int] = [:]
        var enrichments = 0
        try forEachField(m, range) { (field, value, number) throws(ProtocolError) in
            // `count` first in field order, refused in the validation's words
            if field == 1, number > UInt64(limits.maxEventsPerBatch) {
                throw ProtocolError(.tooManyItems, "\(number) events exceed the limit of \(limits.maxEventsPerBatch)")
            }
            if field == 24 {
                enrichments += 1
                guard enrichments <= limits.maxEventsPerBatch else {
                    throw ProtocolError(.tooManyItems, "more than \(limits.maxEventsPerBatch) enrichments")
                }
                if let value { try checkEnrichment(m, value, limits: limits, index: enrichments - 1) }
                return
            }
            guard let (name, limit) = most[field] else { return }
            var n = 1
            if let value, field != 2 {
                // packed: one entry per varint, that is per byte below 0x80
                n = 0
                for i in value where m[i] < 0x80 { n += 1 }
            }
            entries[field, default: 0] += n
            guard entries[field]! <= limit else {
                throw ProtocolError(.tooManyItems, "event_columns.\(name): more than \(limit) entries")
            }
        }
    }

    private static func checkEnrichment(
        _ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, limits: ProtocolLimits, index: Int
    ) throws(ProtocolError) {
        var items = 0
        try forEachField(m, range) { (field, _, _) throws(ProtocolError) in
            if field == 6 || field == 7 || field == 8 { items += 1 }
        }
        guard items <= limits.maxEnrichmentItems else {
            throw ProtocolError(
                .tooManyItems, "events[\(index)].enrichment: \(items) items, limit \(limits.maxEnrichmentItems)")
        }
    }

    /// Calls `body` with each field's number and, for a length-delimited field, the range of its bytes (nil for
    /// other wire types; a varint's value comes third). It stops where the framing breaks (a truncated varint or length, a group, an unknown wire
    /// type): decoding reports that, in its own words.
    static func forEachField(
        _ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
        _ body: (_ field: Int, _ bytes: Range<Int>?, _ varint: UInt64) throws(ProtocolError) -> Void
    ) throws(ProtocolError) {
        var i = range.lowerBound
        let end = range.upperBound
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while i < end, shift < 64 {
                let b = m[i]
                i += 1
                value |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return value }
                shift += 7
            }
            return nil
        }
        while i < end {
            guard let key = varint() else { return }
            let field = Int(truncatingIfNeeded: key >> 3)
            switch key & 7 {
            case 0:
                guard let value = varint() else { return }
                try body(field, nil, value)
            case 1, 5:
                let size = key & 7 == 1 ? 8 : 4
                guard end - i >= size else { return }
                i += size
                try body(field, nil, 0)
            case 2:
                guard let length = varint(), length <= UInt64(end - i) else { return }
                let value = i..<(i + Int(length))
                i = value.upperBound
                try body(field, value, 0)
            default:
                return
            }
        }
    }
}
