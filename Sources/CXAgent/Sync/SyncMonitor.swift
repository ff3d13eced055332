import Foundation
import Synchronization

/// What the sync loop is doing, for `GET /v1/sync` and `cx-agent status`; written by `SyncService` only.
public struct SyncSnapshot: Sendable, Hashable, Codable {
    public init() {}

    /// `disabled`, `not_enrolled`, `idle`, `sending`, `retrying`, `backing_off` or `stalled`.
    public var state: String = "not_enrolled"
    public var hubURL: String?
    public var agentID: String?
    public var storeID: String?
    public var lastSeq: UInt64 = 0
    public var syncedThrough: UInt64 = 0
    public var unsynced: UInt64 = 0
    public var inFlightFrom: UInt64?
    public var inFlightTo: UInt64?
    public var consecutiveFailures: Int = 0
    public var lastError: String?
    public var lastAckAt: Int64?
    public var clockOffsetMillis: Int64?

    enum CodingKeys: String, CodingKey {
        case state
        case hubURL = "hub_url"
        case agentID = "agent_id"
        case storeID = "store_id"
        case lastSeq = "last_seq"
        case syncedThrough = "synced_through"
        case unsynced
        case inFlightFrom = "in_flight_from"
        case inFlightTo = "in_flight_to"
        case consecutiveFailures = "consecutive_failures"
        case lastError = "last_error"
        case lastAckAt = "last_ack_at"
        case clockOffsetMillis = "clock_offset_ms"
    }
}

/// What `GET /v1/sync` and `cx-agent sync-status` print: the loop's state and the sync counters.
public struct SyncReport: Sendable, Encodable {
    public var sync: SyncSnapshot
    public var counters: [String: Int64]

    /// The JSON text, keys sorted, slashes unescaped (URLs stay readable).
    public func json(pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty
            ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            : [
                .sortedKeys, .withoutEscapingSlashes,
            ]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension BufferStore {
    /// `snapshot` with the outbox figures read now (not from the loop's last step, so a caller that has just
    /// ingested never sees a stale "nothing to send") and the sync counters.
    public func syncReport(_ snapshot: SyncSnapshot) async throws -> SyncReport {
        var snapshot = snapshot
        let position = try await syncPosition()
        snapshot.lastSeq = position.lastSeq
        snapshot.syncedThrough = position.syncedThrough
        snapshot.unsynced = position.unsynced
        return SyncReport(sync: snapshot, counters: try await syncState())
    }
}

/// The latest `SyncSnapshot`, shared between the sync loop and the API.
public final class SyncMonitor: Sendable {
    let current: Mutex<SyncSnapshot>

    public init(_ initial: SyncSnapshot = SyncSnapshot()) {
        current = Mutex(initial)
    }

    public var snapshot: SyncSnapshot { current.withLock { $0 } }

    func update(_ change: (inout SyncSnapshot) -> Void) {
        current.withLock { change(&$0) }
    }
}
