import CXCore
import Foundation

/// The identity under which this buffer numbers its events: `(agentID, epoch, seq)`.
public struct AgentIdentity: Sendable, Hashable, Codable {
    public var agentID: String
    /// Changes whenever the database is re-created (first start, or recovery from corruption).
    public var epoch: UInt64
}

/// An event ready for the buffer: validated, enriched and encoded once, on the request's task, so that the
/// single writer only inserts.
public struct PreparedEvent: Sendable {
    public var eventID: UUID
    public var occurredAt: Int64
    public var type: EventType
    /// The row's payload followed by its theme codes, in one buffer (one allocation per event, not two).
    var bytes: [UInt8]
    /// How many of `bytes` are theme codes (at the end).
    var themeCodeCount: Int

    /// The wire encoding without seq and HLC (the writer assigns those), event id and occurred_at (columns of
    /// their own) and the coded themes; the outbox reader puts them all back.
    public var payload: [UInt8] { Array(bytes[..<(bytes.count - themeCodeCount)]) }
    /// Size of `payload`, without copying it.
    public var payloadCount: Int { bytes.count - themeCodeCount }
    /// Codes of `ThemeCodebook`, in the enrichment's order.
    public var themeCodes: [UInt8] { Array(bytes[(bytes.count - themeCodeCount)...]) }

    /// An event whose `bytes` already end with `themeCodeCount` theme codes.
    init(eventID: UUID, occurredAt: Int64, type: EventType, bytes: [UInt8], themeCodeCount: Int) {
        self.eventID = eventID
        self.occurredAt = occurredAt
        self.type = type
        self.bytes = bytes
        self.themeCodeCount = themeCodeCount
    }

    public init(eventID: UUID, occurredAt: Int64, type: EventType, payload: [UInt8], themeCodes: [UInt8] = []) {
        var bytes = payload
        bytes += themeCodes
        self.init(eventID: eventID, occurredAt: occurredAt, type: type, bytes: bytes, themeCodeCount: themeCodes.count)
    }
}

/// What happened to one event of a request.
public enum EventOutcome: Sendable, Hashable {
    case accepted(seq: UInt64)
    case duplicate
}

/// What happened to one request in a group commit.
public enum SubmissionOutcome: Sendable, Hashable {
    case committed([EventOutcome])
    /// Nothing of the request was stored: the buffer is full of unsynced data.
    case quotaExceeded(usedBytes: Int64, quotaBytes: Int64)
}

/// One row of the outbox, in seq order.
public struct OutboxEntry: Sendable, Hashable {
    public var seq: UInt64
    public var hlc: HLCTimestamp
    public var payload: [UInt8]
    /// From the row's columns: the payload leaves them out.
    public var eventID: UUID
    public var occurredAt: Int64
    /// The row's coded themes, decoded; they come before any theme left inline in the payload.
    public var themes: [Enrichment.Theme] = []
}

/// The figures `cx-agent status` and `GET /v1/status` report.
public struct BufferStats: Sendable, Hashable, Codable {
    public var agentID: String
    public var epoch: UInt64
    public var lastSeq: UInt64
    public var syncedThrough: UInt64
    public var unsynced: UInt64
    public var storedEvents: UInt64
    public var oldestUnsyncedOccurredAt: Int64?
    public var usedBytes: Int64
    public var quotaBytes: Int64
    public var acceptedTotal: UInt64
    public var duplicatesTotal: UInt64
    public var evictedTotal: UInt64
    public var refusedEventsTotal: UInt64
    public var refusedRequestsTotal: UInt64
    public var lostInRecoveryTotal: UInt64
    /// Alert deliveries to the store's webhook: waiting, delivered, failed attempts, given up.
    public var webhookPending: UInt64?
    public var webhookDeliveredTotal: UInt64?
    public var webhookFailuresTotal: UInt64?
    public var webhookAbandonedTotal: UInt64?
    /// Group commits since the process started, and the ingest requests they carried: requests per commit is
    /// how many acknowledgements share one fsync (set by the server; nil where no committer runs).
    public var commitsSinceStart: UInt64?
    public var committedRequestsSinceStart: UInt64?
    /// Times the idle writer waited for requests still being prepared (`commit_delay_us`), and how long in all.
    public var commitWaitsSinceStart: UInt64?
    public var commitWaitMillisSinceStart: Double?

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case epoch
        case lastSeq = "last_seq"
        case syncedThrough = "synced_through"
        case unsynced
        case storedEvents = "stored_events"
        case oldestUnsyncedOccurredAt = "oldest_unsynced_occurred_at"
        case usedBytes = "used_bytes"
        case quotaBytes = "quota_bytes"
        case acceptedTotal = "accepted_total"
        case duplicatesTotal = "duplicates_total"
        case evictedTotal = "evicted_total"
        case refusedEventsTotal = "refused_events_total"
        case refusedRequestsTotal = "refused_requests_total"
        case lostInRecoveryTotal = "lost_in_recovery_total"
        case webhookPending = "webhook_pending"
        case webhookDeliveredTotal = "webhook_delivered_total"
        case webhookFailuresTotal = "webhook_failures_total"
        case webhookAbandonedTotal = "webhook_abandoned_total"
        case commitsSinceStart = "commits_since_start"
        case committedRequestsSinceStart = "committed_requests_since_start"
        case commitWaitsSinceStart = "commit_waits_since_start"
        case commitWaitMillisSinceStart = "commit_wait_ms_since_start"
    }
}

/// What start-up found when the database could not be read whole.
public struct RecoveryReport: Sendable, Hashable {
    public var recovered: Int
    public var lost: Int
    public var quarantinedPath: String
    public var reason: String
}

/// A buffer failure with a stable code and what the operator should know.
public struct BufferError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String

    public var description: String { "\(code): \(message)" }
}
