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
public enum IngestParser {
    public static func slots(body: [UInt8], contentType: String?, maxEvents: Int) throws(IngestBodyError) -> [IncomingSlot] {
        guard let first = body.firstIndex(where: { !isSpace($0) }) else {
            throw IngestBodyError(status: 400, code: "empty_body", message: "the body holds no event")
        }
        let decoder = JSONDecoder()
        let isNDJSON = contentType?.contains("ndjson") == true || contentType?.contains("jsonl") == true
            || (body[first] == UInt8(ascii: "{") && looksLikeNDJSON(body, from: first))
        if body[first] == UInt8(ascii: "[") && !isNDJSON {
            do {
                let slots = try decoder.decode([IncomingSlot].self, from: Data(body))
                try check(count: slots.count, maxEvents)
                return slots
            } catch let error as IngestBodyError {
                throw error
            } catch {
                throw IngestBodyError(status: 400, code: "malformed_json", message: "the body is not a JSON array of objects: \(describe(error))")
            }
        }
        if isNDJSON {
            var slots: [IncomingSlot] = []
            var lineNumber = 0
            for line in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                guard line.contains(where: { !isSpace($0) }) else { continue }
                do {
                    slots.append(try decoder.decode(IncomingSlot.self, from: Data(line)))
                } catch {
                    slots.append(IncomingSlot(result: .failure(EventValidationError(
                        .malformedJSON, field: "", "line \(lineNumber) is not a JSON object: \(describe(error))"))))
                }
                try check(count: slots.count, maxEvents)
            }
            if slots.allSatisfy({ if case .failure(let e) = $0.result { e.code == .malformedJSON } else { false } }) {
                throw IngestBodyError(status: 400, code: "malformed_json", message: "no line of the body is a JSON object")
            }
            return slots
        }
        guard body[first] == UInt8(ascii: "{") else {
            throw IngestBodyError(
                status: 400, code: "malformed_json", message: "the body must be a JSON object, a JSON array or NDJSON")
        }
        do {
            return [try decoder.decode(IncomingSlot.self, from: Data(body))]
        } catch {
            throw IngestBodyError(status: 400, code: "malformed_json", message: "the body is not a JSON object: \(describe(error))")
        }
    }

    static func check(count: Int, _ max: Int) throws(IngestBodyError) {
        if count > max {
            throw IngestBodyError(status: 413, code: "too_many_events", message: "more than \(max) events in one request")
        }
    }

    /// One object per line: the first non-blank line is a whole object and another non-blank line follows.
    static func looksLikeNDJSON(_ body: [UInt8], from start: Int) -> Bool {
        guard let end = body[start...].firstIndex(of: UInt8(ascii: "\n")) else { return false }
        var last = end - 1
        while last > start, isSpace(body[last]) { last -= 1 }
        guard body[last] == UInt8(ascii: "}") else { return false }
        return body[(end + 1)...].contains { !isSpace($0) }
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 10 || b == 13 || b == 9 }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let ctx) = error {
            return ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription
        }
        return "\(error)"
    }
}
