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
            try forEachField(m, 0..<m.count) { (field, _) throws(ProtocolError) in
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
            try forEachField(m, 0..<m.count) { (field, value) throws(ProtocolError) in
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
        try forEachField(m, range) { (field, value) throws(ProtocolError) in
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

    private static func checkColumns(_ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, limits: ProtocolLimits)
        throws(ProtocolError)
    {
        var enrichments = 0
        try forEachField(m, range) { (field, value) throws(ProtocolError) in
            guard field == 24 else { return }
            enrichments += 1
            guard enrichments <= limits.maxEventsPerBatch else {
                throw ProtocolError(.tooManyItems, "more than \(limits.maxEventsPerBatch) enrichments")
            }
            if let value { try checkEnrichment(m, value, limits: limits, index: enrichments - 1) }
        }
    }

    private static func checkEnrichment(
        _ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, limits: ProtocolLimits, index: Int
    ) throws(ProtocolError) {
        var items = 0
        try forEachField(m, range) { (field, _) throws(ProtocolError) in
            if field == 6 || field == 7 || field == 8 { items += 1 }
        }
        guard items <= limits.maxEnrichmentItems else {
            throw ProtocolError(
                .tooManyItems, "events[\(index)].enrichment: \(items) items, limit \(limits.maxEnrichmentItems)")
        }
    }

    /// Calls `body` with each field's number and, for a length-delimited field, the range of its bytes (nil for
    /// other wire types). It stops where the framing breaks (a truncated varint or length, a group, an unknown wire
    /// type): decoding reports that, in its own words.
    static func forEachField(
        _ m: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ body: (Int, Range<Int>?) throws(ProtocolError) -> Void
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
                guard varint() != nil else { return }
                try body(field, nil)
            case 1, 5:
                let size = key & 7 == 1 ? 8 : 4
                guard end - i >= size else { return }
                i += size
                try body(field, nil)
            case 2:
                guard let length = varint(), length <= UInt64(end - i) else { return }
                let value = i..<(i + Int(length))
                i = value.upperBound
                try body(field, value)
            default:
                return
            }
        }
    }
}
