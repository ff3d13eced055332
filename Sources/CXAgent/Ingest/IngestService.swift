import CXCore
import CXInsight
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
    public var seq: UInt64?
    public var error: EventValidationError?
    /// The event's id as the agent holds it: the UUID of an event it read (the response writes its text straight
    /// into the body, without a string per event), or text (an answer read back from JSON).
    var id: EventReference?

    /// The event's id in lower-case `8-4-4-4-12` text, nil when the event had none the agent could read.
    public var eventID: String? {
        get { id?.string }
        set { id = newValue.map { .text($0) } }
    }

    public init(
        index: Int, status: Status, eventID: String? = nil, seq: UInt64? = nil, error: EventValidationError? = nil
    ) {
        self.index = index
        self.status = status
        self.id = eventID.map { .text($0) }
        self.seq = seq
        self.error = error
    }

    init(index: Int, status: Status, uuid: UUID, seq: UInt64? = nil, error: EventValidationError? = nil) {
        self.index = index
        self.status = status
        self.id = .uuid(uuid)
        self.seq = seq
        self.error = error
    }

    public static func == (a: EventResult, b: EventResult) -> Bool {
        a.index == b.index && a.status == b.status && a.eventID == b.eventID && a.seq == b.seq && a.error == b.error
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(index)
        hasher.combine(status)
        hasher.combine(eventID)
        hasher.combine(seq)
        hasher.combine(error)
    }
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

/// A request ready for the writer (`IngestService.prepare(body:contentType:)`): its rows, the alerts its events
/// raised, and the results of the events it rejected.
public struct PreparedRequest: Sendable {
    /// The rows to store, in request order of the events that passed.
    public var prepared: [PreparedEvent]
    /// The alerts the events raised.
    public var raised: [InsightAlert]
    let webhook: Bool
    var results: [EventResult?]
    /// The request position of each prepared row.
    var preparedIndex: [Int]
    /// The generation of the erased customers its events were checked against (`BufferStore.erasedCustomers`).
    var erasureGeneration: UInt64 = 0

    /// The raised alerts as the writer stores them.
    public func alerts() throws -> [PreparedAlert] {
        try raised.map { try PreparedAlert($0, webhook: webhook) }
    }

    /// Takes the writer's outcome of each prepared row.
    public mutating func record(_ outcomes: [EventOutcome]) {
        for (k, outcome) in outcomes.enumerated() {
            let i = preparedIndex[k]
            let id = prepared[k].eventID
            switch outcome {
            case .accepted(let seq): results[i] = EventResult(index: i, status: .accepted, uuid: id, seq: seq)
            case .duplicate: results[i] = EventResult(index: i, status: .duplicate, uuid: id)
            }
        }
    }

    /// The answer: 200 when at least one event was stored or already known, 422 when all were rejected. A request
    /// with prepared rows answers only after `record(_:)` took their outcomes.
    public func response() -> IngestResponse {
        let final = results.map { r in
            guard let r else { preconditionFailure("PreparedRequest.response() before record(_:) of its rows") }
            return r
        }
        let status = final.contains { $0.status != .rejected } ? 200 : 422
        return IngestResponse(status: status, results: final, retryAfterSeconds: nil, error: nil)
    }
}

/// Validates, prepares and durably stores posted events; shared by the HTTP API and `cx-agent ingest`.
///
/// Everything but the INSERTs runs on the request's own task, so concurrent requests parse, validate and
/// encode in parallel; the group committer's single writer then only inserts and commits.
public struct IngestService: Sendable {
    public let store: BufferStore
    public let committer: GroupCommitter
    public let configuration: AgentConfiguration
    /// Masks, hashes, scores and tags events before the commit; nil only when `enrichment_enabled` is off.
    public let enricher: EventEnricher?
    let validator = EventValidator()
    let fast = FastEventBuilder(limits: .default)
    /// The theme code of each taxonomy position, when the enricher packs its enrichments and every theme has a
    /// code; nil means the enrichments are built in full and encoded as such.
    let packedThemeCodes: [UInt8]?

    /// Builds the enricher from the configuration, with the credentials found in the data directory.
    public init(store: BufferStore, configuration: AgentConfiguration) throws {
        try self.init(
            store: store, configuration: configuration,
            credentials: try AgentCredentials.load(directory: configuration.dataDirectory))
    }

    /// Builds the enricher from the configuration: the fleet key comes from the enrollment credentials, or
    /// from a key of this box before enrollment.
    ///
    /// Identifiers stored unhashed (enrichment off, now or before) are known by the keyed hash that erasures name
    /// once the agent is enrolled: only the fleet's key from the hub gives that hash, and erasures come from the hub.
    public init(store: BufferStore, configuration: AgentConfiguration, credentials: AgentCredentials?) throws {
        var enricher: EventEnricher?
        if configuration.enrichmentEnabled {
            enricher = try EventEnricher(
                fleetKey: try EventEnricher.fleetKey(credentials: credentials, directory: configuration.dataDirectory),
                piiPatterns: configuration.piiPatterns, defaultCountryCode: configuration.countryCode)
        }
        if let key = EventEnricher.enrolledFleetKey(credentials) {
            store.hashUnhashedIdentifiers(
                with: try CustomerIdentifierHasher(fleetKey: key, defaultCountryCode: configuration.countryCode))
        }
        self.init(store: store, configuration: configuration, enricher: enricher)
    }

    public init(store: BufferStore, configuration: AgentConfiguration, enricher: EventEnricher?) {
        self.store = store
        self.configuration = configuration
        self.enricher = enricher
        // Without codes (a buffer that cannot be written now, or a taxonomy of more than 255 tags), themes are
        // stored inline: larger rows, same content.
        var packedThemeCodes: [UInt8]?
        if let enricher {
            try? store.registerThemes(enricher.engine.themes.taxonomy.allThemes)
            packedThemeCodes = Self.themeCodes(store.themeCodebook, enricher.engine)
        }
        self.packedThemeCodes = packedThemeCodes
        self.committer = GroupCommitter(
            store: store, maxEventsPerCommit: configuration.maxEventsPerCommit,
            notifyWebhook: !configuration.alertWebhookURL.isEmpty, commitDelay: configuration.commitDelay)
    }

    /// Answers only after the accepted events are committed with `synchronous=FULL`.
    public func ingest(body: [UInt8], contentType: String?) async throws -> IngestResponse {
        guard body.count <= configuration.maxBodyBytes else {
            return IngestResponse(
                status: 413, results: [], retryAfterSeconds: nil,
                error: ("body_too_large", "body of \(body.count) bytes exceeds \(configuration.maxBodyBytes)"))
        }
        let slots: [Result<ScannedEvent, EventValidationError>]
        do {
            slots = try scan(body, contentType: contentType)
        } catch {
            return IngestResponse(
                status: error.status, results: [], retryAfterSeconds: nil, error: (error.code, error.message))
        }
        return try await ingest(scanned: slots)
    }

    func ingest(scanned slots: consuming [Result<ScannedEvent, EventValidationError>]) async throws -> IngestResponse {
        // Announced while it is validated and enriched, so that an idle writer waits for it (`commit_delay_us`).
        committer.announce()
        var announced = true
        defer { if announced { committer.withdraw() } }
        var request = await prepare(scanned: slots)
        // Before the announcement passes to the submission: a throw here must still withdraw it.
        let alerts = try request.alerts()
        if let enricher, !request.prepared.isEmpty { try await enricher.recordVersion(in: store) }
        if !request.prepared.isEmpty {
            announced = false
            switch try await committer.submit(
                request.prepared, alerts: alerts, announced: true, erasureGeneration: request.erasureGeneration)
            {
            case .quotaExceeded(let used, let quota):
                return IngestResponse(
                    status: 503, results: [], retryAfterSeconds: configuration.retryAfter.components.seconds,
                    error: ("buffer_full", "the buffer holds \(used) of \(quota) bytes of unsynced data; retry later"))
            case .committed(let outcomes):
                request.record(outcomes)
            }
        }
        return request.response()
    }

    /// Everything a request needs before the writer, without touching the buffer: the events validated and
    /// enriched, their rows encoded, the alerts they raised, the rejected ones' results. It runs on the request's
    /// own task; `cx-bench enrich-path` times it alone.
    public func prepare(body: [UInt8], contentType: String?) async throws -> PreparedRequest {
        await prepare(scanned: try scan(body, contentType: contentType))
    }

    /// The body's events, each read or refused on its own; a body that cannot be read as events at all throws.
    func scan(_ body: [UInt8], contentType: String?) throws(IngestBodyError)
        -> [Result<ScannedEvent, EventValidationError>]
    {
        try body.withUnsafeBufferPointer { (p) throws(IngestBodyError) in
            try IngestParser.slots(body: p, contentType: contentType, maxEvents: configuration.maxEventsPerRequest)
        }
    }

    func prepare(scanned slots: consuming [Result<ScannedEvent, EventValidationError>]) async -> PreparedRequest {
        let now = BufferStore.nowMillis()
        var results: [EventResult?] = Array(repeating: nil, count: slots.count)
        var valid: [Event] = []
        var preparedIndex: [Int] = []
        valid.reserveCapacity(slots.count)
        preparedIndex.reserveCapacity(slots.count)
        // Taken from the back, each slot moves out of the array and its event into `valid`: read in place, every slot
        // was copied, then destroyed with the array, its strings retained and released (0.1 us per event of the
        // request path, `FIELD=request_enriched_us ARGS=--request-path bench/path-ab.sh`).
        var i = slots.count
        while let slot = slots.popLast() {
            i -= 1
            let checked: Result<Event, EventValidationError>
            switch consume slot {
            case .failure(let error):
                results[i] = EventResult(index: i, status: .rejected, error: error)
                continue
            case .success(let scanned):
                if let event = fast.build(scanned, nowMillis: now) {
                    checked = .success(event)
                } else {
                    checked = validator.validate(scanned.incoming, nowMillis: now)
                }
            }
            switch consume checked {
            case .failure(let error):
                results[i] = EventResult(index: i, status: .rejected, error: error)
            case .success(let event):
                if !configuration.storeID.isEmpty && event.storeID != configuration.storeID {
                    results[i] = EventResult(
                        index: i, status: .rejected, uuid: event.eventID,
                        error: EventValidationError(
                            .invalidValue, field: "store_id",
                            "'\(event.storeID)' is not this agent's store '\(configuration.storeID)'"))
                    continue
                }
                valid.append(event)
                preparedIndex.append(i)
            }
        }
        valid.reverse()
        preparedIndex.reverse()
        var prepared: [PreparedEvent]
        let alerts: [InsightAlert]
        // The enricher checks the keyed hashes it makes of the identifiers, which erasures name, and keeps the
        // refused events out of its memory across events; unenriched, the identifiers are checked by their hash.
        let erased = store.erasedCustomers
        var refused: [Int] = []
        // Events the buffer holds already (a producer's retry) are answered `duplicate`: they stay out of the
        // enricher's memory across events.
        let stored = enricher == nil ? [] : store.recentlyStored(valid)
        if let enricher, let codes = packedThemeCodes {
            let packed = await enricher.enrichPacked(&valid, refusing: erased, stored: stored)
            alerts = packed.alerts
            refused = packed.refused
            prepared = valid.withUnsafeBufferPointer { events in
                packed.enrichments.withUnsafeBufferPointer { enrichments in
                    events.indices.map {
                        Self.prepare(
                            events[$0], packed: enrichments[$0], customerKey: packed.customerKeys[$0],
                            themeCodes: codes)
                    }
                }
            }
        } else {
            if let enricher {
                alerts = enricher.enrich(&valid, refusing: erased, refused: &refused, stored: stored)
            } else {
                alerts = []
                if !erased.isEmpty {
                    let hasher = store.unhashedIdentifierHasher
                    refused = valid.indices.filter { i in
                        valid[i].customerID.map { erased.contains(unhashed: $0, hashedBy: hasher) } ?? false
                    }
                }
            }
            let book = store.themeCodebook
            prepared = valid.map { Self.prepare($0, themes: book) }
        }
        if !refused.isEmpty { Self.refuseErased(refused, of: valid, &prepared, &preparedIndex, &results) }
        return PreparedRequest(
            prepared: prepared, raised: alerts, webhook: !configuration.alertWebhookURL.isEmpty, results: results,
            preparedIndex: preparedIndex, erasureGeneration: erased.generation)
    }

    /// Takes the events at `positions` of `valid` (whose rows are `prepared`, at request positions `index`) out of
    /// the request: their customers were erased at the hub, which keeps erasures remove-wins and drops anything of
    /// theirs that reaches it later, so they are refused rather than stored.
    static func refuseErased(
        _ positions: [Int], of valid: [Event], _ prepared: inout [PreparedEvent], _ index: inout [Int],
        _ results: inout [EventResult?]
    ) {
        for k in positions {
            let i = index[k]
            results[i] = EventResult(
                index: i, status: .rejected, uuid: valid[k].eventID,
                error: EventValidationError(
                    .customerErased, field: "customer_id",
                    "this customer was erased at the hub; events of erased customers are not stored"))
        }
        let gone = Set(positions)
        prepared = prepared.indices.filter { !gone.contains($0) }.map { prepared[$0] }
        index = index.indices.filter { !gone.contains($0) }.map { index[$0] }
    }

    /// Encodes an event for the buffer once, outside the writer's critical path, in the buffer's compact form:
    /// no event id and occurred_at in the payload, themes of `themes` as codes.
    public static func prepare(_ event: Event, themes: ThemeCodebook) -> PreparedEvent {
        let codes = event.enrichment.flatMap { $0.themes.isEmpty ? nil : themes.encode($0.themes) }
        return PreparedEvent(
            eventID: event.eventID, occurredAt: event.occurredAt, type: event.type,
            payload: EventPayloadEncoder.encode(event, identity: false, themes: codes == nil), themeCodes: codes ?? [])
    }

    /// The code of each of the engine's theme positions; nil when the engine does not pack themes or a theme has
    /// no code (the enrichments are then built in full).
    public static func themeCodes(_ book: ThemeCodebook, _ engine: InsightEngine) -> [UInt8]? {
        engine.packsThemes ? book.encode(engine.themeValues) : nil
    }

    /// `prepare(_:themes:)` of the event with `packed` as its enrichment and `customerKey` as its customer id's keyed
    /// hash, theme positions turned into codes by `themeCodes` (the code of each taxonomy position), without
    /// building the enrichment: the same row once its compact forms are expanded
    /// (`EventPayloadEncoder.encode(_:packed:customerKey:)`).
    public static func prepare(
        _ event: Event, packed: PackedEnrichment, customerKey: CustomerKey.Halves?, themeCodes: [UInt8]
    ) -> PreparedEvent {
        var bytes = EventPayloadEncoder.encode(event, packed: packed, customerKey: customerKey)
        let payload = bytes.count
        packed.themes.forEach { bytes.append(themeCodes[$0]) }
        return PreparedEvent(
            eventID: event.eventID, occurredAt: event.occurredAt, type: event.type, bytes: bytes,
            themeCodeCount: bytes.count - payload)
    }
}

extension IngestResponse {
    /// The JSON body: totals, then one result per event (PROTOCOL.md and agent/openapi.yaml document it).
    public func jsonBody() -> String {
        String(decoding: jsonBytes(), as: UTF8.self)
    }

    /// The JSON body as bytes, appended without intermediate strings (it is built once per request).
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + results.count * 80)
        func raw(_ s: StaticString) {
            out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        }
        func int(_ v: some BinaryInteger) { appendDecimal(&out, v) }
        func str(_ s: String) { appendJSONString(&out, s) }
        if let error {
            raw("{\"error\":{\"code\":")
            str(error.code)
            raw(",\"message\":")
            str(error.message)
            raw("}")
            if let retryAfterSeconds {
                raw(",\"retry_after_seconds\":")
                int(retryAfterSeconds)
            }
            raw("}")
            return out
        }
        var accepted = 0
        var duplicates = 0
        var rejected = 0
        for r in results {
            switch r.status {
            case .accepted: accepted += 1
            case .duplicate: duplicates += 1
            case .rejected: rejected += 1
            }
        }
        raw("{\"accepted\":")
        int(accepted)
        raw(",\"duplicates\":")
        int(duplicates)
        raw(",\"rejected\":")
        int(rejected)
        raw(",\"results\":[")
        for (n, r) in results.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            raw("{\"index\":")
            int(r.index)
            switch r.status {
            case .accepted: raw(",\"status\":\"accepted\"")
            case .duplicate: raw(",\"status\":\"duplicate\"")
            case .rejected: raw(",\"status\":\"rejected\"")
            }
            switch r.id {
            case .uuid(let id)?:
                raw(",\"event_id\":\"")
                id.appendLowercased(to: &out)
                out.append(UInt8(ascii: "\""))
            case .text(let id)?:
                raw(",\"event_id\":")
                str(id)
            case nil: break
            }
            if let seq = r.seq {
                raw(",\"seq\":")
                int(seq)
            }
            if let e = r.error {
                raw(",\"code\":")
                str(e.code.rawValue)
                raw(",\"field\":")
                str(e.field)
                raw(",\"message\":")
                str(e.description)
            }
            out.append(UInt8(ascii: "}"))
        }
        raw("]}")
        return out
    }
}

/// Appends `v` in decimal, without the string `String(v)` would allocate.
func appendDecimal(_ out: inout [UInt8], _ v: some BinaryInteger) {
    if v < 0 { out.append(UInt8(ascii: "-")) }
    var m = UInt64(v.magnitude)
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { d in
        var i = d.count
        repeat {
            i -= 1
            d[i] = UInt8(truncatingIfNeeded: m % 10) &+ 48
            m /= 10
        } while m > 0
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[i...]))
    }
}

/// Appends `s` as a JSON string literal.
func appendJSONString(_ out: inout [UInt8], _ s: String) {
    out.append(UInt8(ascii: "\""))
    // Most strings need no escape: copied whole.
    let plain = s.utf8.withContiguousStorageIfAvailable { b -> Bool in
        guard !b.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            return false
        }
        out.append(contentsOf: b)
        return true
    }
    if plain == true {
        out.append(UInt8(ascii: "\""))
        return
    }
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
        case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
        case 10: out.append(contentsOf: [92, 110])
        case 13: out.append(contentsOf: [92, 114])
        case 9: out.append(contentsOf: [92, 116])
        case 0..<0x20:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
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
