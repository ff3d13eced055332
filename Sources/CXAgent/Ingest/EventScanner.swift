import CXCore

/// One event slot of a request body as the scanner read it.
struct ScannedEvent: Sendable {
    var incoming: IncomingEvent
    /// `event_id` already parsed when it is a canonical UUID string (the validator's parse is ~0.5 µs).
    var eventID: UUIDBytes?
}

/// The 16 bytes of a UUID as two words: no allocation, cheap to compare.
struct UUIDBytes: Sendable, Hashable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the canonical `8-4-4-4-12` hex form (either case), the only form the validator accepts.
    static func parse(_ p: UnsafeBufferPointer<UInt8>) -> UUIDBytes? {
        guard p.count == 36, p[8] == 45, p[13] == 45, p[18] == 45, p[23] == 45 else { return nil }
        var h: UInt64 = 0
        var l: UInt64 = 0
        var bad: UInt8 = 0
        // Table lookups without a branch per digit: a non-hex byte sets the table's high bit, checked once at the end.
        hexValues.withUnsafeBufferPointer { t in
            func digits(_ r: Range<Int>, _ x: inout UInt64) {
                for i in r {
                    let v = t[Int(p[i])]
                    bad |= v
                    x = x << 4 | UInt64(v)
                }
            }
            digits(0..<8, &h)
            digits(9..<13, &h)
            digits(14..<18, &h)
            digits(19..<23, &l)
            digits(24..<36, &l)
        }
        guard bad & 0x80 == 0 else { return nil }
        return UUIDBytes(high: h, low: l)
    }
}

/// Each byte's value as a hex digit (either case), 0xFF for a byte that is none.
private let hexValues: [UInt8] = (0..<256).map { b -> UInt8 in
    switch b {
    case 48...57: UInt8(b - 48)
    case 97...102: UInt8(b - 87)
    case 65...70: UInt8(b - 55)
    default: 0xFF
    }
}

/// A JSON syntax error: where and what, for the malformed-JSON messages.
struct JSONSyntaxError: Error {
    var offset: Int
    var message: String

    var description: String { "\(message) at byte \(offset)" }
}

/// Reads request bodies byte by byte into `IncomingEvent`s without building a JSON tree.
///
/// Foundation's `JSONDecoder` cost a third of the agent's CPU at 50k events/s (a map of the document, a
/// container per object, a dictionary lookup per key). This scanner knows the event schema, so it reads
/// each key once and decodes only the values it keeps. Type errors name the field exactly as the
/// `Decodable` conformance of `IncomingEvent` does (`invalid_type`, "expected a string"), and a value of
/// the wrong JSON kind never sinks the other events of the request.
struct EventScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var i: Int

    init(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int = 0) {
        base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        end = buffer.count
        i = start
    }

    // MARK: - Whole bodies

    /// Events of a JSON array body; a syntax error anywhere refuses the whole body.
    static func scanArray(_ body: UnsafeBufferPointer<UInt8>, maxEvents: Int) throws(IngestBodyError) -> [Result<
        ScannedEvent, EventValidationError
    >] {
        var s = EventScanner(body)
        var out: [Result<ScannedEvent, EventValidationError>] = []
        do {
            s.skipSpace()
            try s.expect(UInt8(ascii: "["))
            s.skipSpace()
            if s.peek == UInt8(ascii: "]") {
                s.i += 1
            } else {
                while true {
                    s.skipSpace()
                    out.append(try s.scanEventValue())
                    if out.count > maxEvents { try IngestParser.check(count: out.count, maxEvents) }
                    s.skipSpace()
                    let c = try s.next()
                    if c == UInt8(ascii: "]") { break }
                    guard c == UInt8(ascii: ",") else { throw s.error("expected ',' or ']' in the array", at: s.i - 1) }
                }
            }
            s.skipSpace()
            guard s.i == s.end else { throw s.error("unexpected bytes after the array") }
        } catch let e as JSONSyntaxError {
            throw IngestBodyError(
                status: 400, code: "malformed_json",
                message: "the body is not a JSON array of objects: \(e.description)")
        } catch let e as IngestBodyError {
            throw e
        } catch {
            throw IngestBodyError(status: 400, code: "malformed_json", message: "\(error)")
        }
        return out
    }

    /// One event from a complete JSON text (one NDJSON line or a single-object body).
    static func scanOne(_ text: UnsafeBufferPointer<UInt8>) -> Result<
        Result<ScannedEvent, EventValidationError>, JSONSyntaxError
    > {
        var s = EventScanner(text)
        do {
            s.skipSpace()
            let r = try s.scanEventValue()
            s.skipSpace()
            guard s.i == s.end else { throw s.error("unexpected bytes after the value") }
            return .success(r)
        } catch let e as JSONSyntaxError {
            return .failure(e)
        } catch {
            return .failure(JSONSyntaxError(offset: s.i, message: "\(error)"))
        }
    }

    // MARK: - Events

    /// One array element or line: an event, or (for a readable value of the wrong shape) why not.
    mutating func scanEventValue() throws -> Result<ScannedEvent, EventValidationError> {
        guard peek == UInt8(ascii: "{") else {
            try skipValue()
            return .failure(EventValidationError(.invalidType, field: "", "expected a JSON object"))
        }
        i += 1
        var e = IncomingEvent()
        var id: UUIDBytes?
        var typeError: EventValidationError?
        // occurred_at: the Decodable reads a number, else a string, and only without it `ts`.
        var occurredNumber: Number?
        var occurredText: String?
        var occurredKind: Kind?
        var tsNumber: Number?
        var tsKind: Kind?
        skipSpace()
        if peek == UInt8(ascii: "}") {
            i += 1
            return .success(ScannedEvent(incoming: e, eventID: nil))
        }
        while true {
            skipSpace()
            let key = try scanKey()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            func fail(_ field: String, _ expected: String) {
                if typeError.map({ Self.fieldOrder(field) < Self.fieldOrder($0.field) }) ?? true {
                    typeError = EventValidationError(.invalidType, field: field, expected)
                }
            }
            switch key {
            case .eventID:
                if let (v, range) = try stringOrNull("event_id", fail) {
                    e.eventID = v
                    id = range.flatMap {
                        UUIDBytes.parse(UnsafeBufferPointer(start: base + $0.lowerBound, count: $0.count))
                    }
                } else {
                    e.eventID = nil
                    id = nil
                }
            case .storeID: e.storeID = try stringOrNull("store_id", fail)?.0
            case .deviceID: e.deviceID = try stringOrNull("device_id", fail)?.0
            case .channel: e.channel = try stringOrNull("channel", fail)?.0
            case .type: e.type = try stringOrNull("type", fail)?.0
            case .customerID: e.customerID = try stringOrNull("customer_id", fail)?.0
            case .journeyStage: e.journeyStage = try stringOrNull("journey_stage", fail)?.0
            case .scoreScale: e.scoreScale = try stringOrNull("score_scale", fail)?.0
            case .text: e.text = try stringOrNull("text", fail)?.0
            case .currency: e.currency = try stringOrNull("currency", fail)?.0
            case .score: e.score = try numberOrNull("score", fail)
            case .amount: e.amount = try numberOrNull("amount", fail)
            case .occurredAt:
                occurredNumber = nil
                occurredText = nil
                occurredKind = kind(of: peek)
                switch occurredKind {
                case .number: occurredNumber = try scanNumber()
                case .string: occurredText = try scanString().0
                default: try skipValue()
                }
            case .ts:
                tsNumber = nil
                tsKind = kind(of: peek)
                if tsKind == .number { tsNumber = try scanNumber() } else { try skipValue() }
            case .attributes:
                e.attributes = try attributesOrNull(fail)
            case .other:
                try skipValue()
            }
            skipSpace()
            let c = try next()
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object", at: i - 1) }
        }
        // The Decodable reads fields in declaration order: the first failing field is the one reported.
        if let typeError, Self.fieldOrder(typeError.field) < Self.fieldOrder("occurred_at") {
            return .failure(typeError)
        }
        if let n = occurredNumber, let ms = n.int64 {
            e.occurredAt = .millis(ms)
        } else if let s = occurredText {
            e.occurredAt = .text(s)
        } else if occurredKind != nil && occurredKind != .null {
            return .failure(EventValidationError(.invalidType, field: "occurred_at", "expected a string"))
        } else if let tsKind, tsKind != .null {
            guard tsKind == .number, let n = tsNumber else {
                return .failure(EventValidationError(.invalidType, field: "ts", "expected a number"))
            }
            guard let ms = n.int64 else {
                return .failure(
                    EventValidationError(
                        .malformedJSON, field: "ts", "not valid JSON: number \(n.text) does not fit in Int64"))
            }
            e.occurredAt = .millis(ms)
        }
        if let typeError { return .failure(typeError) }
        return .success(ScannedEvent(incoming: e, eventID: id))
    }

    /// Declaration order of `IncomingEvent`'s decoder, so that the first bad field wins as it did.
    static func fieldOrder(_ field: String) -> Int {
        switch field {
        case "event_id": 0
        case "store_id": 1
        case "device_id": 2
        case "channel": 3
        case "type": 4
        case "occurred_at", "ts": 5
        case "customer_id": 6
        case "journey_stage": 7
        case "score": 8
        case "score_scale": 9
        case "text": 10
        case "amount": 11
        case "currency": 12
        default: 13
        }
    }

    enum Key {
        case eventID, storeID, deviceID, channel, type, occurredAt, ts, customerID, journeyStage, score, scoreScale
        case text, amount, currency, attributes, other
    }

    enum Kind { case string, number, null, other }

    func kind(of c: UInt8) -> Kind {
        switch c {
        case UInt8(ascii: "\""): .string
        case UInt8(ascii: "-"), 48...57: .number
        case UInt8(ascii: "n"): .null
        default: .other
        }
    }

    /// Reads an object key and names it; keys with escapes are decoded first (rare, but legal JSON).
    mutating func scanKey() throws -> Key {
        guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let start = i + 1
        var j = start
        while j < end, base[j] != UInt8(ascii: "\""), base[j] != UInt8(ascii: "\\") { j += 1 }
        if j < end && base[j] == UInt8(ascii: "\"") {
            i = j + 1
            return Self.key(UnsafeBufferPointer(start: base + start, count: j - start))
        }
        let (s, _) = try scanString()
        var copy = s
        return copy.withUTF8 { Self.key($0) }
    }

    static func key(_ k: UnsafeBufferPointer<UInt8>) -> Key {
        func eq(_ s: StaticString) -> Bool {
            guard s.utf8CodeUnitCount == k.count else { return false }
            let p = s.utf8Start
            for n in 0..<k.count where p[n] != k[n] { return false }
            return true
        }
        switch k.count {
        case 2: return eq("ts") ? .ts : .other
        case 4: return eq("type") ? .type : eq("text") ? .text : .other
        case 5: return eq("score") ? .score : .other
        case 6: return eq("amount") ? .amount : .other
        case 7: return eq("channel") ? .channel : .other
        case 8:
            return eq("event_id") ? .eventID : eq("store_id") ? .storeID : eq("currency") ? .currency : .other
        case 9: return eq("device_id") ? .deviceID : .other
        case 10: return eq("attributes") ? .attributes : .other
        case 11:
            return eq("occurred_at")
                ? .occurredAt : eq("customer_id") ? .customerID : eq("score_scale") ? .scoreScale : .other
        case 13: return eq("journey_stage") ? .journeyStage : .other
        default: return .other
        }
    }

    // MARK: - Values

    mutating func stringOrNull(
        _ field: String, _ fail: (String, String) -> Void
    ) throws -> (String, Range<Int>?)? {
        switch peek {
        case UInt8(ascii: "\""): return try scanString()
        case UInt8(ascii: "n"):
            try skipLiteral("null")
            return nil
        default:
            try skipValue()
            fail(field, "expected a string")
            return nil
        }
    }

    mutating func numberOrNull(_ field: String, _ fail: (String, String) -> Void) throws -> Double? {
        switch kind(of: peek) {
        case .number: return try scanNumber().double
        case .null:
            try skipLiteral("null")
            return nil
        default:
            try skipValue()
            fail(field, "expected a number")
            return nil
        }
    }

    mutating func attributesOrNull(_ fail: (String, String) -> Void) throws -> [String: String]? {
        switch peek {
        case UInt8(ascii: "n"):
            try skipLiteral("null")
            return nil
        case UInt8(ascii: "{"):
            i += 1
            var out: [String: String] = [:]
            skipSpace()
            if peek == UInt8(ascii: "}") {
                i += 1
                return out
            }
            var bad = false
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let (k, _) = try scanString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                switch peek {
                case UInt8(ascii: "\""): out[k] = try scanString().0
                case UInt8(ascii: "n"):
                    try skipLiteral("null")
                    if !bad { fail("attributes.\(k)", "expected a string, got null") }
                    bad = true
                default:
                    try skipValue()
                    if !bad { fail("attributes.\(k)", "expected a string") }
                    bad = true
                }
                skipSpace()
                let c = try next()
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object", at: i - 1) }
            }
            return bad ? nil : out
        default:
            try skipValue()
            fail("attributes", "expected an object of strings")
            return nil
        }
    }

    /// A string value and, when it had no escapes, where its bytes are (for the event-id fast path).
    mutating func scanString() throws -> (String, Range<Int>?) {
        try expect(UInt8(ascii: "\""))
        let start = i
        var ascii = true
        // Eight bytes at a time up to the first that needs a look (a quote, a backslash, a control byte): the text
        // of an event is most of its bytes.
        let ones: UInt64 = 0x0101_0101_0101_0101
        let tops: UInt64 = 0x8080_8080_8080_8080
        var high: UInt64 = 0
        while i &+ 8 <= end {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            let quote = w ^ (ones &* 0x22)
            let backslash = w ^ (ones &* 0x5C)
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)
            if special & tops != 0 { break }
            high |= w
            i &+= 8
        }
        if high & tops != 0 { ascii = false }
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                let p = UnsafeBufferPointer(start: base + start, count: i - start)
                i += 1
                if ascii { return (String(decoding: p, as: UTF8.self), start..<(i - 1)) }
                guard let s = String(validating: p, as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string", at: start)
                }
                return (s, start..<(i - 1))
            }
            if c == UInt8(ascii: "\\") { return (try scanEscapedString(from: start), nil) }
            if c < 0x20 { throw error("unescaped control character in a string") }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        throw error("unterminated string", at: start - 1)
    }

    mutating func scanEscapedString(from start: Int) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(i - start + 16)
        bytes.append(contentsOf: UnsafeBufferPointer(start: base + start, count: i - start))
        while i < end {
            let c = base[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw error("invalid UTF-8 in a string", at: start)
                }
                return s
            }
            if c < 0x20 { throw error("unescaped control character in a string") }
            guard c == UInt8(ascii: "\\") else {
                bytes.append(c)
                i += 1
                continue
            }
            i += 1
            let e = try next()
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(8)
            case UInt8(ascii: "f"): bytes.append(12)
            case UInt8(ascii: "n"): bytes.append(10)
            case UInt8(ascii: "r"): bytes.append(13)
            case UInt8(ascii: "t"): bytes.append(9)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < end, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a string")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in a string") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("unpaired surrogate in a string")
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                bytes.append(contentsOf: UTF8.encode(u)!)
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: i - 2)
            }
        }
        throw error("unterminated string", at: start - 1)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= end else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = base[i]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 97...102: d = c - 87
            case 65...70: d = c - 55
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    /// A JSON number: its text (for messages), its value, and its exact integer when it is one.
    struct Number {
        var text: String
        var double: Double
        var int64: Int64?
    }

    mutating func scanNumber() throws -> Number {
        let start = i
        var negative = false
        if peek == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        let intStart = i
        guard i < end, base[i] >= 48 && base[i] <= 57 else { throw error("invalid number", at: start) }
        if base[i] == 48 {
            i += 1
        } else {
            while i < end, base[i] >= 48 && base[i] <= 57 { i += 1 }
        }
        let intDigits = i - intStart
        var integral = true
        if i < end && base[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            let f = i
            while i < end, base[i] >= 48 && base[i] <= 57 { i += 1 }
            guard i > f else { throw error("invalid number", at: start) }
        }
        if i < end && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            integral = false
            i += 1
            if i < end && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) { i += 1 }
            let f = i
            while i < end, base[i] >= 48 && base[i] <= 57 { i += 1 }
            guard i > f else { throw error("invalid number", at: start) }
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        if integral && intDigits <= 18 {
            var v: Int64 = 0
            for k in intStart..<(intStart + intDigits) { v = v * 10 + Int64(base[k] - 48) }
            if negative { v = -v }
            return Number(text: text, double: Double(v), int64: v)
        }
        guard let d = Double(text) else { throw error("invalid number", at: start) }
        var exact: Int64?
        if integral, let v = Int64(text) { exact = v }
        return Number(text: text, double: d, int64: exact)
    }

    /// Skips any JSON value, checking its syntax.
    mutating func skipValue(depth: Int = 0) throws {
        guard depth < 64 else { throw error("nesting deeper than 64 levels") }
        switch peek {
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "}") {
                i += 1
                return
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw error("expected a string key") }
                _ = try scanString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                let c = try next()
                if c == UInt8(ascii: "}") { return }
                guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object", at: i - 1) }
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "]") {
                i += 1
                return
            }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                let c = try next()
                if c == UInt8(ascii: "]") { return }
                guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']' in an array", at: i - 1) }
            }
        case UInt8(ascii: "t"): try skipLiteral("true")
        case UInt8(ascii: "f"): try skipLiteral("false")
        case UInt8(ascii: "n"): try skipLiteral("null")
        case UInt8(ascii: "-"), 48...57: _ = try scanNumber()
        default: throw error(i < end ? "unexpected character" : "unexpected end of input")
        }
    }

    mutating func skipLiteral(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= end else { throw error("invalid literal") }
        for k in 0..<n where base[i + k] != word.utf8Start[k] { throw error("invalid literal") }
        i += n
    }

    // MARK: - Bytes

    var peek: UInt8 { i < end ? base[i] : 0 }

    mutating func next() throws -> UInt8 {
        guard i < end else { throw error("unexpected end of input") }
        defer { i += 1 }
        return base[i]
    }

    mutating func expect(_ c: UInt8) throws {
        guard i < end, base[i] == c else {
            throw error(i < end ? "expected '\(Character(Unicode.Scalar(c)))'" : "unexpected end of input")
        }
        i += 1
    }

    mutating func skipSpace() {
        while i < end {
            let c = base[i]
            guard c == 32 || c == 10 || c == 13 || c == 9 else { return }
            i += 1
        }
    }

    func error(_ message: String, at offset: Int? = nil) -> JSONSyntaxError {
        JSONSyntaxError(offset: offset ?? i, message: message)
    }
}
