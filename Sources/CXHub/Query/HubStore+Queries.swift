import CXCore
import CXProtocol
import Foundation
import GRDB
import SwiftProtobuf

/// One agent in the fleet view.
public struct FleetRow: Sendable, Hashable, Codable {
    public var agentID: String
    public var store: String
    public var device: String
    public var status: String
    public var lastSyncAt: String?
    public var secondsSinceSync: Int64?
    public var eventsSynced: UInt64
    public var highWaterMark: UInt64
    public var lastSeq: UInt64
    /// Events the agent holds that the hub has not acknowledged, as the agent last reported.
    public var bufferDepth: UInt64
    public var oldestUnsyncedAgeSeconds: Int64?
    public var clockOffsetMillis: Int64
    public var skewed: Bool
    public var bytesReceived: UInt64
    public var refusals: UInt64
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", store, device, status, lastSyncAt = "last_sync_at"
        case secondsSinceSync = "seconds_since_sync", eventsSynced = "events_synced"
        case highWaterMark = "high_water_mark", lastSeq = "last_seq", bufferDepth = "buffer_depth"
        case oldestUnsyncedAgeSeconds = "oldest_unsynced_age_seconds", clockOffsetMillis = "clock_offset_ms"
        case skewed, bytesReceived = "bytes_received", refusals, lastError = "last_error"
    }
}

/// Event counts for one (store, channel, type).
public struct EventCountRow: Sendable, Hashable, Codable {
    public var store: String
    public var channel: String
    public var type: String
    public var events: Int64
}

/// One event on a customer's timeline.
public struct TimelineEntry: Sendable, Hashable, Codable {
    public var occurredAt: String
    public var customerID: String
    public var store: String
    public var channel: String
    public var type: String
    public var journeyStage: String?
    public var score: Double?
    public var sentiment: Double?
    public var intents: [String]
    public var text: String?
    public var eventID: String

    enum CodingKeys: String, CodingKey {
        case occurredAt = "occurred_at", customerID = "customer_id", store, channel, type
        case journeyStage = "journey_stage", score, sentiment, intents, text, eventID = "event_id"
    }
}

/// An alert as the hub holds it.
public struct AlertRow: Sendable, Hashable, Codable {
    public var alertID: String
    public var store: String
    public var rule: String
    public var severity: String
    public var status: String
    public var summary: String
    public var assignee: String?
    public var note: String?
    public var raisedAt: String

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id", store, rule, severity, status, summary, assignee, note, raisedAt = "raised_at"
    }
}

extension HubStore {
    static func iso(_ millis: Int64) -> String {
        RFC3339.format(millis: millis)
    }

    /// Seconds from an agent's time, corrected by its clock offset, to `now`; never negative. Saturating: the
    /// times are what an agent reported, and one report must not trap the hub that serves the fleet's queries.
    static func ageSeconds(now: Int64, agentMillis: Int64, offset: Int64) -> Int64 {
        let (corrected, o1) = agentMillis.addingReportingOverflow(offset)
        if o1 { return offset > 0 ? 0 : Int64.max / 1000 }
        let (age, o2) = now.subtractingReportingOverflow(corrected)
        if o2 { return corrected > 0 ? 0 : Int64.max / 1000 }
        return max(0, age / 1000)
    }

    /// Per agent: last sync, volume, lag, buffer, clock; `staleAfter` turns a quiet agent's status to `stale`.
    public func fleet(staleAfter: Duration) async throws -> [FleetRow] {
        let now = Self.nowMillis()
        let (stale, overflow) = staleAfter.components.seconds.multipliedReportingOverflow(by: 1000)
        return try await agents().map { a in
            var status = a.status
            if a.isActive {
                // An agent that stopped syncing is the more urgent news than its clock (`skewed` says that too).
                if a.lastSyncAt == nil {
                    status = "never_synced"
                } else if let last = a.lastSyncAt, !overflow, now - last > stale {
                    status = "stale"
                } else if a.skewed {
                    status = "clock_skewed"
                } else {
                    status = "ok"
                }
            }
            let oldestAge: Int64? =
                a.oldestUnsyncedMillis > 0 && a.bufferDepth > 0
                ? Self.ageSeconds(now: now, agentMillis: a.oldestUnsyncedMillis, offset: a.clockOffsetMillis) : nil
            return FleetRow(
                agentID: a.agentID, store: a.storeID, device: a.deviceID, status: status,
                lastSyncAt: a.lastSyncAt.map(Self.iso),
                secondsSinceSync: a.lastSyncAt.map { max(0, (now - $0) / 1000) },
                eventsSynced: a.eventsSynced, highWaterMark: a.highWaterMark, lastSeq: a.lastSeq,
                bufferDepth: a.bufferDepth, oldestUnsyncedAgeSeconds: oldestAge, clockOffsetMillis: a.clockOffsetMillis,
                skewed: a.skewed, bytesReceived: a.bytesReceived, refusals: a.refusals, lastError: a.lastError)
        }
    }

    /// The stores that have events, by a loose scan of `events_identity` (one seek per store): the event indexes
    /// are keyed by store first, so that a batch writes few pages, and queries over all stores go store by store.
    static let storesCTE = """
        stores(s) AS (
            SELECT min(store_id) FROM events
            UNION ALL
            SELECT (SELECT min(store_id) FROM events WHERE store_id > s) FROM stores WHERE s IS NOT NULL)
        """

    /// The stores, and the days on which some event names a customer: with `customer_id = ?1`, one seek per
    /// (store, day) in `events_customer` finds one customer's events without scanning `events`.
    static let customerStoresAndDaysCTE =
        storesCTE + """
            ,
            days(d) AS (SELECT day FROM customer_days)
            """

    /// Counts of merged events by store, channel and type whose `occurred_at` lies in `[since, until)`.
    public func eventCounts(since: Int64?, until: Int64?, store: String?) async throws -> [EventCountRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE \(Self.storesCTE)
                    SELECT store_id, channel, type, count(*) AS n FROM events
                    WHERE store_id IN (SELECT s FROM stores WHERE s IS NOT NULL AND (?3 IS NULL OR s = ?3))
                        AND occurred_at >= ?1 AND occurred_at < ?2
                    GROUP BY store_id, channel, type ORDER BY store_id, channel, type
                    """, arguments: [since ?? Int64.min, until ?? Int64.max, store]
            ).map { EventCountRow(store: $0["store_id"], channel: $0["channel"], type: $0["type"], events: $0["n"]) }
        }
    }

    /// Total merged events (for convergence checks).
    public func eventTotal() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 }
    }

    /// The customer's identifiers joined through identity links (the unified customer), bounded.
    func linkedIdentifiers(_ db: Database, of id: String, limit: Int = 64) throws -> [String] {
        var seen: [String] = [id]
        var set: Set<String> = [id]
        var frontier = [id]
        while let next = frontier.popLast(), seen.count < limit {
            // At most `limit` new ones can be kept, and every identifier seen may come back among the neighbours: an
            // identifier linked to a million others (links come from stores) must not load them all.
            let rows = try String.fetchAll(
                db,
                sql: "SELECT b FROM identity_links WHERE a = ? UNION SELECT a FROM identity_links WHERE b = ? LIMIT ?",
                arguments: [next, next, limit + seen.count])
            for r in rows where seen.count < limit && set.insert(r).inserted {
                seen.append(r)
                frontier.append(r)
            }
        }
        return seen
    }

    /// The identifiers linked to `id` (transitively, at most 63), without `id`: what an erasure of `id` leaves.
    public func linkedIdentifiers(of id: String) async throws -> [String] {
        try await pool.read { db in Array(try self.linkedIdentifiers(db, of: id).dropFirst()) }
    }

    /// One customer's events across channels and stores, oldest first (at most `limit`).
    public func customerTimeline(_ id: String, limit: Int) async throws -> [TimelineEntry] {
        try await pool.read { db in
            let ids = try self.linkedIdentifiers(db, of: id)
            var entries: [TimelineEntry] = []
            // One seek per (store, day) in events_customer: the stores by a loose scan of the index, the days
            // from `customer_days`; both as IN lists the planner turns into nested seeks. At most
            // `limit` oldest rows per identifier: a customer linked to busy identifiers (links come from stores)
            // must not hold all of their events in memory to answer one page (SQLite still reads them, keeping the
            // oldest). Ties go by event id, here and in the merge below, so that a page does not depend on order.
            let statement = try db.cachedStatement(
                sql: """
                    WITH RECURSIVE \(Self.customerStoresAndDaysCTE)
                    SELECT event_id, customer_id, store_id, channel, type, occurred_at, journey_stage, score, sentiment,
                        text, extra FROM events
                    WHERE store_id IN (SELECT s FROM stores WHERE s IS NOT NULL) AND day IN (SELECT d FROM days)
                        AND customer_id = ?1
                    ORDER BY occurred_at, event_id LIMIT ?2
                    """)
            for cid in ids {
                for row in try Row.fetchAll(statement, arguments: [cid, limit]) {
                    let extra = (row["extra"] as Data?).map { try? Cxsync_V1_Event(serializedBytes: $0) } ?? nil
                    let uuid = UUID(uuid: Self.uuidTuple([UInt8](row["event_id"] as Data)))
                    entries.append(
                        TimelineEntry(
                            occurredAt: Self.iso(row["occurred_at"]), customerID: cid, store: row["store_id"],
                            channel: row["channel"], type: row["type"], journeyStage: row["journey_stage"],
                            score: row["score"], sentiment: row["sentiment"],
                            intents: (extra?.enrichment.intents ?? []).map { Self.intentName($0.kind) },
                            text: row["text"], eventID: uuid.lowercasedString))
                }
            }
            entries.sort { ($0.occurredAt, $0.eventID) < ($1.occurredAt, $1.eventID) }
            return Array(entries.prefix(limit))
        }
    }

    static func intentName(_ k: Cxsync_V1_IntentKind) -> String {
        switch k {
        case .complaint: "complaint"
        case .refund: "refund"
        case .cancellation: "cancellation"
        case .praise: "praise"
        case .question: "question"
        default: "unknown"
        }
    }

    static func uuidTuple(_ b: [UInt8]) -> uuid_t {
        let b = b.count == 16 ? b : [UInt8](repeating: 0, count: 16)
        return (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15])
    }

    /// Alerts, newest first; `status` filters by name.
    public func alerts(status: String?, store: String? = nil, limit: Int) async throws -> [AlertRow] {
        let wanted = status.flatMap(AlertStatus.init(name:))
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM alerts WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR store_id = ?2)
                    ORDER BY raised_hlc DESC LIMIT ?3
                    """,
                arguments: [wanted?.rawValue, store, limit]
            ).map(Self.alertRow)
        }
    }

    /// One alert as `alerts` lists it; nil for an unknown id.
    public func alert(id: String) async throws -> AlertRow? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE alert_id = ?", arguments: [id]).map(Self.alertRow)
        }
    }

    static func alertRow(_ row: Row) -> AlertRow {
        let state = Self.alertState(row)
        return AlertRow(
            alertID: row["alert_id"], store: row["store_id"], rule: row["rule"], severity: row["severity"],
            status: state.status.value.description, summary: row["summary"], assignee: state.assignee?.value,
            note: state.note?.value,
            raisedAt: Self.iso(HLCTimestamp(rawValue: UInt64(bitPattern: row["raised_hlc"] as Int64)).wallMillis))
    }

    /// The hub's configuration registers (collection `config`).
    public func configEntries() async throws -> [[String: String]] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT key, field, value FROM lww WHERE collection = 'config' ORDER BY key, field"
            )
            .map { ["scope": $0["key"], "name": $0["field"], "value": ($0["value"] as String?) ?? ""] }
        }
    }
}
