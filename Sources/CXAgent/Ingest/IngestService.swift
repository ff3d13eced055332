import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf

/// The result of one event of a request, in request order.
public struct EventResult: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        case accepted, duplicate, rejected
    }

    public var index: Int
    public var status: Status
    public var eventID: String?
    public var seq: UInt64?
    public var error: EventValidationError?
}

/// The answer to one ingest request.
public struct IngestResponse: Sendable {
    /// 200 when at least one event was stored or already known, 422 when all were rejected,
    /// 400/413 for an unreadable body, 503 when the quota refused the request.
    public var status: Int
    public var results: [EventResult]
    public var retryAfterSeconds: Int64?
    public var error: (code: String, message: String)?

    public var accepted: Int { results.count { $0.status == .accepted } }
    public var duplicates: Int { results.count { $0.status == .duplicate } }
    public var rejected: Int { results.count { $0.status == .rejected } }
}

/// Validates, prepares and durably stores posted events; shared by the HTTP API and `cx-agent ingest`.
public struct IngestService: Sendable {
    public let store: BufferStore
    public let committer: GroupCommitter
    public let configuration: AgentConfiguration
    let validator = EventValidator()

    public init(store: BufferStore, configuration: AgentConfiguration) {
        self.store = store
        self.configuration = configuration
        self.committer = GroupCommitter(store: store, maxEventsPerCommit: configuration.maxEventsPerCommit)
    }

    /// Answers only after the accepted events are committed with `synchronous=FULL`.
    public func ingest(body: [UInt8], contentType: String?) async throws -> IngestResponse {
        guard body.count <= configuration.maxBodyBytes else {
            return IngestResponse(
                status: 413, results: [], retryAfterSeconds: nil,
                error: ("body_too_large", "body of \(body.count) bytes exceeds \(configuration.maxBodyBytes)"))
        }
        let slots: [IncomingSlot]
        do {
            slots = try IngestParser.slots(body: body, contentType: contentType, maxEvents: configuration.maxEventsPerRequest)
        } catch {
            return IngestResponse(status: error.status, results: [], retryAfterSeconds: nil, error: (error.code, error.message))
        }
        return try await ingest(slots)
    }

    public func ingest(_ slots: [IncomingSlot]) async throws -> IngestResponse {
        let now = BufferStore.nowMillis()
        var results: [EventResult?] = Array(repeating: nil, count: slots.count)
        var prepared: [PreparedEvent] = []
        var preparedIndex: [Int] = []
        prepared.reserveCapacity(slots.count)
        for (i, slot) in slots.enumerated() {
            switch slot.result.flatMap({ validator.validate($0, nowMillis: now) }) {
            case .failure(let error):
                results[i] = EventResult(index: i, status: .rejected, error: error)
            case .success(let event):
                if !configuration.storeID.isEmpty && event.storeID != configuration.storeID {
                    results[i] = EventResult(
                        index: i, status: .rejected, eventID: event.eventID.uuidString.lowercased(),
                        error: EventValidationError(
                            .invalidValue, field: "store_id",
                            "'\(event.storeID)' is not this agent's store '\(configuration.storeID)'"))
                    continue
                }
                prepared.append(Self.prepare(event))
                preparedIndex.append(i)
            }
        }
        if !prepared.isEmpty {
            switch try await committer.submit(prepared) {
            case .quotaExceeded(let used, let quota):
                return IngestResponse(
                    status: 503, results: [], retryAfterSeconds: configuration.retryAfter.components.seconds,
                    error: ("buffer_full", "the buffer holds \(used) of \(quota) bytes of unsynced data; retry later"))
            case .committed(let outcomes):
                for (k, outcome) in outcomes.enumerated() {
                    let i = preparedIndex[k]
                    let id = UUID(bytes: prepared[k].eventID).uuidString.lowercased()
                    switch outcome {
                    case .accepted(let seq): results[i] = EventResult(index: i, status: .accepted, eventID: id, seq: seq)
                    case .duplicate: results[i] = EventResult(index: i, status: .duplicate, eventID: id)
                    }
                }
            }
        }
        let final = results.map { $0! }
        let status = final.contains { $0.status != .rejected } ? 200 : 422
        return IngestResponse(status: status, results: final, retryAfterSeconds: nil, error: nil)
    }

    /// Encodes an event for the buffer once, outside the writer's critical path.
    static func prepare(_ event: Event) -> PreparedEvent {
        let wire = Cxsync_V1_Event(event, seq: 0, batchStoreID: "")
        return PreparedEvent(
            eventID: event.eventID.bytes, occurredAt: event.occurredAt, type: event.type,
            payload: try! wire.serializedBytes())
    }
}

extension IngestResponse {
    /// The JSON body: totals, then one result per event (PROTOCOL.md and agent/openapi.yaml document it).
    public func jsonBody() -> String {
        var s = "{"
        if let error {
            s += "\"error\":{\"code\":\(json(error.code)),\"message\":\(json(error.message))}"
            if let retryAfterSeconds { s += ",\"retry_after_seconds\":\(retryAfterSeconds)" }
            return s + "}"
        }
        s += "\"accepted\":\(accepted),\"duplicates\":\(duplicates),\"rejected\":\(rejected),\"results\":["
        for (n, r) in results.enumerated() {
            if n > 0 { s += "," }
            s += "{\"index\":\(r.index),\"status\":\"\(r.status.rawValue)\""
            if let id = r.eventID { s += ",\"event_id\":\"\(id)\"" }
            if let seq = r.seq { s += ",\"seq\":\(seq)" }
            if let e = r.error {
                s += ",\"code\":\"\(e.code.rawValue)\",\"field\":\(json(e.field)),\"message\":\(json(e.description))"
            }
            s += "}"
        }
        return s + "]}"
    }
}

/// A JSON string literal.
func json(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}
