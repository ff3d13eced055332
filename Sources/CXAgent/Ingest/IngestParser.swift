import CXCore
import Foundation

/// A request body that cannot be read as events at all; nothing of it is applied.
public struct IngestBodyError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String

    public var description: String { "\(code): \(message)" }
}

/// Splits a request body into event slots: one JSON object, a JSON array, or NDJSON (one object per line).
///
/// A syntax error refuses a single-object or array body whole (400); in NDJSON it refuses only its line,
/// unless no line at all is readable.
enum IngestParser {
    static func slots(
        body: UnsafeBufferPointer<UInt8>, contentType: String?, maxEvents: Int
    ) throws(IngestBodyError) -> [Result<ScannedEvent, EventValidationError>] {
        guard let first = body.firstIndex(where: { !isSpace($0) }) else {
            throw IngestBodyError(status: 400, code: "empty_body", message: "the body holds no event")
        }
        let isNDJSON =
            contentType?.contains("ndjson") == true || contentType?.contains("jsonl") == true
            || (body[first] == UInt8(ascii: "{") && looksLikeNDJSON(body, from: first))
        if body[first] == UInt8(ascii: "[") && !isNDJSON {
            return try EventScanner.scanArray(body, maxEvents: maxEvents)
        }
        if isNDJSON {
            var slots: [Result<ScannedEvent, EventValidationError>] = []
            slots.reserveCapacity(min(maxEvents, 256))
            var readable = 0
            var firstError: String?
            var lineNumber = 0
            var start = 0
            while start <= body.count {
                var end = body.count
                if start < body.count, let base = body.baseAddress,
                    let nl = memchr(base + start, Int32(UInt8(ascii: "\n")), body.count - start)
                {
                    end = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(nl))
                }
                lineNumber += 1
                let line = UnsafeBufferPointer(rebasing: body[start..<end])
                start = end + 1
                guard line.contains(where: { !isSpace($0) }) else { continue }
                switch EventScanner.scanOne(line) {
                case .success(let slot):
                    slots.append(slot)
                    readable += 1
                case .failure(let error):
                    let message = "line \(lineNumber) is not a JSON object: \(error.description)"
                    if firstError == nil { firstError = message }
                    slots.append(.failure(EventValidationError(.malformedJSON, field: "", message)))
                }
                try check(count: slots.count, maxEvents)
            }
            if readable == 0 {
                // One object over several lines whose first line ends with a nested "}" reads as NDJSON by its shape:
                // taken whole when it is one.
                if contentType?.contains("ndjson") != true && contentType?.contains("jsonl") != true,
                    body[first] == UInt8(ascii: "{"), case .success(let slot) = EventScanner.scanOne(body)
                {
                    return [slot]
                }
                throw IngestBodyError(
                    status: 400, code: "malformed_json",
                    message: "no line of the body is a JSON object (\(firstError ?? "no line"))")
            }
            return slots
        }
        guard body[first] == UInt8(ascii: "{") else {
            throw IngestBodyError(
                status: 400, code: "malformed_json", message: "the body must be a JSON object, a JSON array or NDJSON")
        }
        switch EventScanner.scanOne(body) {
        case .success(let slot): return [slot]
        case .failure(let error):
            throw IngestBodyError(
                status: 400, code: "malformed_json", message: "the body is not a JSON object: \(error.description)")
        }
    }

    static func check(count: Int, _ max: Int) throws(IngestBodyError) {
        if count > max {
            throw IngestBodyError(
                status: 413, code: "too_many_events", message: "more than \(max) events in one request")
        }
    }

    /// One object per line: the first non-blank line is a whole object and another non-blank line follows.
    static func looksLikeNDJSON(_ body: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        guard let end = body[start...].firstIndex(of: UInt8(ascii: "\n")) else { return false }
        var last = end - 1
        while last > start, isSpace(body[last]) { last -= 1 }
        guard body[last] == UInt8(ascii: "}") else { return false }
        return body[(end + 1)...].contains { !isSpace($0) }
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 10 || b == 13 || b == 9 }
}
