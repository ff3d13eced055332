import CXCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes `Cxsync_V1_Event` bytes straight from an `Event`: exactly what SwiftProtobuf writes for the message
/// that `Cxsync_V1_Event(_:seq:batchStoreID:)` builds (a test compares them over every enum value and optional
/// field), or with `encode(_:packed:)` the agent buffer's compact forms of three of its fields.
///
/// Hand-written because building the generated message (a storage class, arrays of sub-messages) and its
/// visitor cost several allocations per event. The agent stores each event's payload this way (seq and HLC 0,
/// no model version: the writer assigns the first two, `model_versions` records the last by seq range), and
/// the hub its `extra` column.
public enum EventPayloadEncoder {
    /// The whole event with seq 0; the enrichment's model version only when `modelVersion` is set. Without
    /// `identity`, event id and `occurred_at` are left out (the agent's buffer keeps them in columns of their own
    /// and puts them back when it reads the row).
    /// Without `themes`, the enrichment's themes are left out too (the agent stores them as codes).
    public static func encode(_ e: Event, modelVersion: Bool = false, identity: Bool = true, themes: Bool = true)
        -> [UInt8]
    {
        var out: [UInt8] = []
        out.reserveCapacity(
            64 + e.deviceID.utf8.count + e.storeID.utf8.count + (e.text?.utf8.count ?? 0)
                + (e.customerID?.utf8.count ?? 0) + (e.enrichment == nil ? 0 : 160))
        fields(&out, e, identity: identity)
        if let en = e.enrichment { enrichment(&out, 17, en, modelVersion: modelVersion, themes: themes) }
        return out
    }

    /// The agent's buffer form of the event with `packed` as its enrichment, written without building an
    /// `Enrichment`: `encode(_:identity:themes: false)` of it, except that four fields take their compact
    /// stored forms, which `Cxsync_V1_Event.expandStoredForms()` turns back into those bytes' fields:
    /// intents are spans of the text instead of phrases, the sentiment is four small integers, the language
    /// confidence is a percentage, and a customer key (32 lowercase hex digits) is its 16 bytes. About 30 of the
    /// ~60 bytes that enrichment adds to a row, which the single writer pays for several times (WAL, checkpoint,
    /// page cache).
    ///
    /// `customerKey`, when given, is the customer key's bytes (the event then carries no customer id of its own).
    public static func encode(
        _ e: Event, packed: PackedEnrichment, customerKey: CustomerKey.Halves? = nil, identity: Bool = false
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(
            96 + e.deviceID.utf8.count + e.storeID.utf8.count + (e.text?.utf8.count ?? 0)
                + (e.customerID?.utf8.count ?? 0))
        var key = customerKey
        if key == nil, let c = e.customerID { key = CustomerKey.halves(c) }
        fields(&out, e, identity: identity, customerID: key == nil)
        enrichment(&out, 17, packed)
        if let key {
            out.append(0x92)  // field 18, length-delimited: two bytes of tag
            out.append(0x01)
            out.append(16)
            withUnsafeBytes(of: key.0.bigEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: key.1.bigEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Every field of the event but its enrichment; the customer id only with `customerID`.
    static func fields(_ out: inout [UInt8], _ e: Event, identity: Bool, customerID: Bool = true) {
        if identity {
            withUnsafeBytes(of: e.eventID.uuid) { id in
                out.append(0x12)
                out.append(16)
                out.append(contentsOf: id)
            }
        }
        string(&out, 3, e.storeID)
        string(&out, 4, e.deviceID)
        varintField(&out, 5, UInt64(channel(e.channel)))
        varintField(&out, 6, UInt64(type(e.type)))
        if identity && e.occurredAt != 0 { varintField(&out, 7, UInt64(bitPattern: e.occurredAt)) }
        if e.hlc.rawValue != 0 { varintField(&out, 8, e.hlc.rawValue) }
        if customerID, let c = e.customerID { string(&out, 9, c) }
        if let s = e.journeyStage { varintField(&out, 10, UInt64(stage(s))) }
        if let s = e.score {
            double(&out, 11, s.value)
            varintField(&out, 12, UInt64(scale(s.scale)))
        }
        if let t = e.text { string(&out, 13, t) }
        if let a = e.amount { double(&out, 14, a) }
        if let c = e.currency { string(&out, 15, c) }
        attributes(&out, e.attributes)
    }

    /// The hub's `extra`: an event holding only amount, currency, attributes and enrichment (with its model
    /// version); nil when the event has none of them.
    public static func extra(_ e: Event) -> [UInt8]? {
        guard e.enrichment != nil || !e.attributes.isEmpty || e.amount != nil || e.currency != nil else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(e.enrichment == nil ? 32 : 192)
        if let a = e.amount { double(&out, 14, a) }
        if let c = e.currency { string(&out, 15, c) }
        attributes(&out, e.attributes)
        if let en = e.enrichment { enrichment(&out, 17, en, modelVersion: true) }
        return out
    }

    static func attributes(_ out: inout [UInt8], _ attributes: [String: String]) {
        for (k, v) in attributes.sorted(by: { $0.key < $1.key }) { stringPair(&out, 16, k, v) }
    }

    /// The enrichment as field `field` of `out`, written in place: its size is computed first, so no
    /// sub-message is built in an array of its own (this runs for every stored event).
    static func enrichment(
        _ out: inout [UInt8], _ field: UInt64, _ e: Enrichment, modelVersion: Bool, themes withThemes: Bool = true
    ) {
        let themes = withThemes ? e.themes : []
        func intentSize(_ i: Enrichment.Intent) -> Int { Self.intentSize(i.kind, phraseBytes: i.phrase.utf8.count) }
        var size = modelVersion ? stringSize(e.modelVersion) : 0
        size += sentimentSize(e.sentiment)
        for i in e.intents { size += fieldSize(intentSize(i)) }
        for t in themes { size += fieldSize(stringPairSize(t.dimension, t.value)) }
        for f in e.flags { size += fieldSize(f.utf8.count) }  // a repeated string is written even when empty
        if let l = e.language { size += stringSize(l) }
        size += floatSize(e.languageConfidence)
        varint(&out, field << 3 | 2)
        varint(&out, UInt64(size))
        let start = out.count
        if modelVersion { string(&out, 1, e.modelVersion) }
        sentiment(&out, e.sentiment)
        for i in e.intents {
            varint(&out, 6 << 3 | 2)
            varint(&out, UInt64(intentSize(i)))
            varintField(&out, 1, UInt64(intent(i.kind)))
            string(&out, 2, i.phrase)
        }
        for t in themes { stringPair(&out, 7, t.dimension, t.value) }
        for f in e.flags {
            var f = f
            f.withUTF8 { bytes(&out, 8, $0) }
        }
        if let l = e.language { string(&out, 9, l) }
        float(&out, 10, Float(e.languageConfidence))
        assert(out.count - start == size, "enrichment size \(out.count - start), computed \(size)")
    }

    /// The buffer form of `enrichment(_:_:_:modelVersion: false, themes: false)` of the enrichment `p` stands
    /// for: intents as spans of the event's text, the sentiment as integers and the language confidence as a
    /// percentage (`encode(_:packed:)`). Written through a pointer and appended at once: it is the part of every
    /// enriched row that a plain row does not have, and appending it byte by byte checked the array's capacity
    /// and uniqueness for each.
    static func enrichment(_ out: inout [UInt8], _ field: UInt64, _ p: PackedEnrichment) {
        // stored_sentiment (13, packed) when the scores are as the engine rounds them and that is shorter: 7-11
        // bytes for the 15-20 of three or four floats (a zero sentiment, whose floats take no bytes, keeps them)
        let floats = sentimentSize(p.sentiment)
        let stored = StoredSentiment(p.sentiment).flatMap { $0.fieldSize < floats ? $0 : nil }
        var size = stored?.fieldSize ?? floats
        // stored_intent_spans (11, packed): kind, start and length of each intent's phrase
        var spans = 0
        p.forEachIntent { kind, r in
            spans += varintSize(UInt64(intent(kind))) + varintSize(UInt64(r.lowerBound)) + varintSize(UInt64(r.count))
        }
        if spans > 0 { size += fieldSize(spans) }
        forEachFlagName(p.flags) { size += fieldSize($0.count) }
        var language = p.language ?? ""
        let languageBytes = language.utf8.count
        if languageBytes > 0 { size += fieldSize(languageBytes) }
        // stored_language_percent (12) when the confidence is a whole percentage, as the engine rounds it
        let percent = (p.languageConfidence * 100).rounded()
        let asPercent = percent > 0 && percent <= 100 && percent / 100 == p.languageConfidence
        size += asPercent ? 1 + varintSize(UInt64(percent)) : floatSize(p.languageConfidence)
        let total = varintSize(field << 3 | 2) + varintSize(UInt64(size)) + size
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { buffer in
            var w = RawWriter(buffer.baseAddress!)
            w.varint(field << 3 | 2)
            w.varint(UInt64(size))
            if stored == nil { w.sentiment(p.sentiment) }
            forEachFlagName(p.flags) { w.bytes(8, $0) }
            if languageBytes > 0 { language.withUTF8 { w.bytes(9, $0) } }
            if !asPercent { w.float(10, Float(p.languageConfidence)) }
            if spans > 0 {
                w.varint(11 << 3 | 2)
                w.varint(UInt64(spans))
                p.forEachIntent { kind, r in
                    w.varint(UInt64(intent(kind)))
                    w.varint(UInt64(r.lowerBound))
                    w.varint(UInt64(r.count))
                }
            }
            if asPercent { w.varintField(12, UInt64(percent)) }
            if let stored {
                w.varint(13 << 3 | 2)
                w.varint(UInt64(stored.bodySize))
                w.varint(stored.values.0)
                w.varint(stored.values.1)
                w.varint(stored.values.2)
                w.varint(stored.values.3)
            }
            assert(w.written(since: buffer.baseAddress!) == total, "enrichment of \(total) bytes written short")
            out.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }

    /// The stored names of the flags set in `flags`, in stored order (`PackedEnrichment.Flags.names`), as bytes.
    @inline(__always)
    static func forEachFlagName(_ flags: PackedEnrichment.Flags, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard !flags.isEmpty else { return }
        for (flag, name) in PackedEnrichment.Flags.names where flags.contains(flag) {
            body(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
    }

    /// Writes protobuf wire primitives to memory whose size was computed beforehand: the array writers below,
    /// without a capacity and uniqueness check per byte.
    struct RawWriter {
        var p: UnsafeMutablePointer<UInt8>

        init(_ p: UnsafeMutablePointer<UInt8>) { self.p = p }

        func written(since start: UnsafeMutablePointer<UInt8>) -> Int { p - start }

        @inline(__always) mutating func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                p.pointee = UInt8(truncatingIfNeeded: v) | 0x80
                p += 1
                v >>= 7
            }
            p.pointee = UInt8(v)
            p += 1
        }

        @inline(__always) mutating func varintField(_ field: UInt64, _ value: UInt64) {
            guard value != 0 else { return }
            varint(field << 3)
            varint(value)
        }

        /// An enrichment's four sentiment floats, fields 2-5.
        @inline(__always) mutating func sentiment(_ s: Enrichment.Sentiment) {
            float(2, Float(s.compound))
            float(3, Float(s.positive))
            float(4, Float(s.neutral))
            float(5, Float(s.negative))
        }

        /// A length-delimited field.
        @inline(__always) mutating func bytes(_ field: UInt64, _ b: UnsafeBufferPointer<UInt8>) {
            varint(field << 3 | 2)
            varint(UInt64(b.count))
            if let base = b.baseAddress { p.update(from: base, count: b.count) }
            p += b.count
        }

        /// Plain proto3 `float`: omitted when its bit pattern is zero, as `EventPayloadEncoder.float` does.
        @inline(__always) mutating func float(_ field: UInt64, _ f: Float) {
            let bits = f.bitPattern
            guard bits != 0 else { return }
            varint(field << 3 | 5)
            UnsafeMutableRawPointer(p).storeBytes(of: bits.littleEndian, as: UInt32.self)
            p += 4
        }
    }

    /// The sentiment as `stored_sentiment` (field 13) holds it: the compound in ten-thousandths, zigzagged, then the
    /// three shares in thousandths, which is how the engine rounds them. Its expansion gives back the same floats.
    struct StoredSentiment {
        var values: (UInt64, UInt64, UInt64, UInt64)
        /// The packed numbers' bytes.
        var bodySize: Int

        /// Nil when a value is not a whole number of those units (or out of range): such scores keep their floats.
        init?(_ s: Enrichment.Sentiment) {
            // A negative zero keeps its floats: expanded, it would come back positive.
            let c = (s.compound * 10_000).rounded()
            guard c / 10_000 == s.compound, abs(c) <= 10_000, !(c == 0 && s.compound.sign == .minus),
                let positive = Self.share(s.positive), let neutral = Self.share(s.neutral),
                let negative = Self.share(s.negative)
            else { return nil }
            let compound = c >= 0 ? UInt64(c) << 1 : UInt64(-c) << 1 - 1
            values = (compound, positive, neutral, negative)
            bodySize = varintSize(compound) + varintSize(positive) + varintSize(neutral) + varintSize(negative)
        }

        /// Bytes of the field with its tag and length.
        var fieldSize: Int { EventPayloadEncoder.fieldSize(bodySize) }

        private static func share(_ x: Double) -> UInt64? {
            let v = (x * 1000).rounded()
            guard v / 1000 == x, v >= 0, v <= 1000, x.sign == .plus else { return nil }
            return UInt64(v)
        }
    }

    /// Bytes a float field takes; 0 for a zero (proto3 does not write it).
    @inline(__always) static func floatSize(_ d: Double) -> Int { Float(d).bitPattern == 0 ? 0 : 5 }

    /// Bytes of an enrichment's four sentiment floats (fields 2-5).
    static func sentimentSize(_ s: Enrichment.Sentiment) -> Int {
        floatSize(s.compound) + floatSize(s.positive) + floatSize(s.neutral) + floatSize(s.negative)
    }

    /// An enrichment's four sentiment floats, fields 2-5.
    static func sentiment(_ out: inout [UInt8], _ s: Enrichment.Sentiment) {
        float(&out, 2, Float(s.compound))
        float(&out, 3, Float(s.positive))
        float(&out, 4, Float(s.neutral))
        float(&out, 5, Float(s.negative))
    }

    /// The body size of an intent sub-message whose phrase has `phraseBytes` UTF-8 bytes.
    static func intentSize(_ kind: Enrichment.Intent.Kind, phraseBytes: Int) -> Int {
        let k = UInt64(intent(kind))
        return (k == 0 ? 0 : 1 + varintSize(k)) + (phraseBytes == 0 ? 0 : fieldSize(phraseBytes))
    }

    /// Bytes a length-delimited field of `n` bytes takes with its tag (fields below 16) and length.
    @inline(__always) static func fieldSize(_ n: Int) -> Int { 1 + varintSize(UInt64(n)) + n }

    /// Bytes a string field takes; 0 for an empty one (proto3 does not write it).
    @inline(__always) static func stringSize(_ s: String) -> Int {
        let n = s.utf8.count
        return n == 0 ? 0 : fieldSize(n)
    }

    /// The body size of a sub-message of two string fields, 1 and 2 (a theme, an attribute).
    @inline(__always) static func stringPairSize(_ a: String, _ b: String) -> Int { stringSize(a) + stringSize(b) }

    /// A sub-message of two string fields, 1 and 2, as field `field` of `out`, written in place.
    static func stringPair(_ out: inout [UInt8], _ field: UInt64, _ a: String, _ b: String) {
        varint(&out, field << 3 | 2)
        varint(&out, UInt64(stringPairSize(a, b)))
        string(&out, 1, a)
        string(&out, 2, b)
    }

    @inline(__always) static func varintSize(_ v: UInt64) -> Int {
        v == 0 ? 1 : (64 - v.leadingZeroBitCount + 6) / 7
    }

    // MARK: - Wire primitives (proto3: default values are not written)

    @inline(__always) static func varint(_ out: inout [UInt8], _ value: UInt64) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    @inline(__always) static func varintField(_ out: inout [UInt8], _ field: UInt64, _ value: UInt64) {
        guard value != 0 else { return }
        varint(&out, field << 3)
        varint(&out, value)
    }

    static func string(_ out: inout [UInt8], _ field: UInt64, _ s: String) {
        guard !s.isEmpty else { return }
        var s = s
        s.withUTF8 { bytes(&out, field, $0) }
    }

    static func bytes(_ out: inout [UInt8], _ field: UInt64, _ b: UnsafeBufferPointer<UInt8>) {
        varint(&out, field << 3 | 2)
        varint(&out, UInt64(b.count))
        out.append(contentsOf: b)
    }

    /// `optional double`: written whenever present, zero included.
    static func double(_ out: inout [UInt8], _ field: UInt64, _ d: Double) {
        varint(&out, field << 3 | 1)
        let bits = d.bitPattern
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(k)))) }
    }

    /// Plain proto3 `float`: omitted when its bit pattern is zero (SwiftProtobuf's test; -0.0 is written).
    static func float(_ out: inout [UInt8], _ field: UInt64, _ f: Float) {
        let bits = f.bitPattern
        guard bits != 0 else { return }
        varint(&out, field << 3 | 5)
        for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k)))) }
    }

    // MARK: - Enum numbers of protocol/cxsync.proto

    static func channel(_ c: Channel) -> Int {
        switch c {
        case .kiosk: 1
        case .pos: 2
        case .web: 3
        case .mobile: 4
        case .chat: 5
        case .email: 6
        case .social: 7
        case .phone: 8
        }
    }

    static func type(_ t: EventType) -> Int {
        switch t {
        case .surveyNPS: 1
        case .surveyCSAT: 2
        case .surveyCES: 3
        case .feedback: 4
        case .chatMessage: 5
        case .posTransaction: 6
        case .posRefund: 7
        case .review: 8
        case .socialMention: 9
        case .supportTicket: 10
        }
    }

    static func stage(_ s: JourneyStage) -> Int {
        switch s {
        case .awareness: 1
        case .consideration: 2
        case .purchase: 3
        case .postPurchase: 4
        case .support: 5
        case .loyalty: 6
        }
    }

    static func scale(_ s: ScoreScale) -> Int {
        switch s {
        case .nps: 1
        case .csat: 2
        case .ces5: 3
        case .ces7: 4
        case .stars: 5
        }
    }

    static func intent(_ k: Enrichment.Intent.Kind) -> Int {
        switch k {
        case .complaint: 1
        case .refund: 2
        case .cancellation: 3
        case .praise: 4
        case .question: 5
        }
    }
}
