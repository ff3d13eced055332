import CXCore
import CXInsight
import CXProtocol
import Foundation
import GRDB
import GRDBSQLite
import SwiftProtobuf

/// One webhook delivery waiting in the queue.
struct WebhookDelivery: Sendable, Hashable {
    var id: Int64
    var alertID: String
    var body: [UInt8]
    var attempts: Int
}

/// An outbox row that is not an event: an alert update, in the shared seq space.
public struct OutboxAlert: Sendable, Hashable {
    public var seq: UInt64
    public var alertID: String
    public var update: Cxsync_V1_AlertUpdate
}

/// An alert raised at ingest, ready for the buffer: its URL-safe id and its webhook body are built on the request's
/// task, so that the group commit (the serial part of ingest) only inserts them.
public struct PreparedAlert: Sendable {
    public var id: String
    public var ruleID: String
    public var severity: String
    public var storeID: String
    public var message: String
    public var raisedHLC: UInt64
    /// The JSON posted to the store's webhook; nil when no webhook is configured.
    public var webhookBody: Data?
    /// The events that raised it: it is stored only if one of them is (a re-sent event, a duplicate, raises none).
    public var eventIDs: [UUID]

    public init(_ alert: InsightAlert, webhook: Bool) throws {
        eventIDs = alert.eventIDs.compactMap(UUID.init(uuidString:))
        // Alert ids appear in URLs (`POST /v1/alerts/{id}/acknowledge`): keep them to URL-safe characters. The
        // engine's id (time, rule, key) repeats when one key fires twice in a millisecond (no cooldown); the
        // triggering event's id tells such alerts apart: its last 12 hex digits, random in UUIDv4 and v7 alike
        // (a v7's first ones are its millisecond, shared by every event the agent stamps in that millisecond).
        // Written in place: one allocation, the id's own.
        let source = alert.id.utf8
        let suffix = alert.eventIDs.last?.utf8.suffix(12)
        let id = String(unsafeUninitializedCapacity: source.count + (suffix.map { $0.count + 1 } ?? 0)) { out in
            var i = 0
            for b in source {
                out[i] = b == UInt8(ascii: "|") ? UInt8(ascii: ".") : b
                i += 1
            }
            if let suffix {
                out[i] = UInt8(ascii: ".")
                i += 1
                for b in suffix {
                    out[i] = b
                    i += 1
                }
            }
            return i
        }
        self.id = id
        ruleID = alert.ruleID
        severity = alert.severity.rawValue
        storeID = alert.storeID
        message = alert.message
        raisedHLC = HLCTimestamp(wallMillis: alert.raisedAtMs, counter: 0).rawValue
        if webhook {
            var delivered = alert
            delivered.id = id
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            webhookBody = try encoder.encode(delivered)
        }
    }
}

extension BufferStore {
    /// Persists alerts raised at ingest inside the group commit's transaction: each gets an outbox seq, so it
    /// reaches the hub, and a webhook delivery when a webhook is configured. The outbox row holds what the alert's
    /// row needs; `alerts` gets it in bulk (`materializeAlerts`), and readers see both (`alerts(status:)`).
    ///
    /// An id raised twice (the same event's alert twice in one millisecond, such as a request sent twice at once)
    /// gets two outbox entries: `alerts` keeps the first, and the hub joins the second into it (the status lattice).
    static func insertAlerts(
        _ alerts: [PreparedAlert], notifyWebhook: Bool, _ db: Database, _ counters: inout Counters
    ) throws {
        let now = Self.nowMillis()
        // Cached statements: a busy store raises an alert every few dozen events, inside the group commit.
        let outbox = try db.cachedStatement(
            sql: """
                INSERT INTO alert_outbox (seq, alert_id, payload, rule, severity, store_id, summary, raised_hlc, raised_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let webhook = try db.cachedStatement(
            sql: "INSERT INTO webhook_queue (alert_id, body, next_attempt_at) VALUES (?, ?, ?)")
        let connection = db.sqliteConnection
        // An alert's texts side by side, bound without copies (SQLITE_STATIC) for the step that reads them: bound as
        // transient, SQLite copied each of the five into an allocation of its own.
        var texts: [UInt8] = []
        texts.reserveCapacity(256)
        // Bound by hand (`step`), as the events are: through `StatementArguments` an alert cost the group commit
        // more than the 25 events around it.
        for a in alerts {
            counters["alerts_raised_total"] += 1
            counters["alerts_unmaterialized"] += 1
            let seq = counters["next_seq"]
            counters["next_seq"] = seq + 1
            texts.removeAll(keepingCapacity: true)
            var bounds = (0, 0, 0, 0, 0)
            texts.append(contentsOf: a.id.utf8)
            bounds.0 = texts.count
            texts.append(contentsOf: a.ruleID.utf8)
            bounds.1 = texts.count
            texts.append(contentsOf: a.severity.utf8)
            bounds.2 = texts.count
            texts.append(contentsOf: a.storeID.utf8)
            bounds.3 = texts.count
            texts.append(contentsOf: a.message.utf8)
            bounds.4 = texts.count
            // No payload: an empty one marks the open update of an alert raised here, built from these columns when
            // the batch is built.
            try texts.withUnsafeBufferPointer { t in
                try t.withMemoryRebound(to: CChar.self) { t in
                    try Self.step(outbox, connection) { s in
                        func text(_ index: Int32, _ start: Int, _ end: Int) {
                            sqlite3_bind_text(s, index, t.baseAddress! + start, Int32(end - start), nil)
                        }
                        sqlite3_bind_int64(s, 1, seq)
                        text(2, 0, bounds.0)
                        sqlite3_bind_zeroblob(s, 3, 0)
                        text(4, bounds.0, bounds.1)
                        text(5, bounds.1, bounds.2)
                        text(6, bounds.2, bounds.3)
                        text(7, bounds.3, bounds.4)
                        sqlite3_bind_int64(s, 8, Int64(bitPattern: a.raisedHLC))
                        sqlite3_bind_int64(s, 9, now)
                    }
                }
            }
            if notifyWebhook, let body = a.webhookBody {
                try Self.step(webhook, connection) { s in
                    bindText(s, 1, a.id)
                    bindBlob(s, 2, body)
                    sqlite3_bind_int64(s, 3, now)
                }
            }
        }
    }

    /// Raised alerts a group commit leaves to the outbox before it moves them into `alerts`: each move writes the
    /// pages of a thousand alerts once, where inserting them commit by commit rewrote the table's last pages in
    /// every commit.
    static let alertsPerMaterialization: Int64 = 1024

    /// Moves the raised alerts that only the outbox holds into `alerts` (status open; an alert already there, from
    /// the hub, keeps its row). Runs inside the caller's write transaction, before anything reads or changes
    /// `alerts` there or drops outbox rows.
    static func materializeAlerts(_ db: Database, _ counters: inout Counters) throws {
        guard counters["alerts_unmaterialized"] > 0 else { return }
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO alerts (alert_id, status, rule, severity, store_id, summary, raised_hlc, updated_at)
                SELECT alert_id, ?, rule, severity, store_id, summary, raised_hlc, raised_at FROM alert_outbox
                WHERE seq > ? AND rule IS NOT NULL ORDER BY seq
                """,
            arguments: [AlertStatus.open.rawValue, counters["alerts_materialized_through"]])
        counters["alerts_materialized_through"] = counters["next_seq"] - 1
        counters["alerts_unmaterialized"] = 0
    }

    /// Binds a blob (copied: SQLite keeps it past the closure).
    static func bindBlob(_ s: OpaquePointer?, _ index: Int32, _ value: some ContiguousBytes) {
        _ = value.withUnsafeBytes {
            // An empty buffer may have no address, which SQLite would bind as NULL.
            $0.isEmpty
                ? sqlite3_bind_zeroblob(s, index, 0)
                : sqlite3_bind_blob(s, index, $0.baseAddress, Int32($0.count), transient)
        }
    }

    /// A CX lead's change on the store's screen: status moves forward only (open < acknowledged < resolved);
    /// the note is last-writer-wins. Returns the alert as stored, nil for an unknown id.
    public func updateAlert(id: String, status: AlertStatus, note: String?, node: String) async throws -> StoredAlert? {
        let found = try await pool.write { db -> Bool in
            var counters = try Counters.load(db)
            try Self.materializeAlerts(db, &counters)
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE alert_id = ?", arguments: [id]) else {
                try counters.save(db)
                return false
            }
            // After the note it replaces, which the store's staff saw: by the HLC receive rule, also when this box's
            // clock is behind the clock that wrote that note (by less than the hub's skew threshold, which corrects
            // nothing), where the wall clock alone lost the store's newer note for good.
            // A note stamped more than the drift ahead (the clock ran ahead when it was written) is not followed:
            // the hub would refuse every note after it until that date.
            let now = Self.nowMillis()
            let stored = (row["note_hlc"] as Int64?).map { HLCTimestamp(rawValue: UInt64(bitPattern: $0)) } ?? .zero
            let seen = stored.wallMillis > now + self.maxDriftMillis ? .zero : stored
            var clock = HybridLogicalClock(last: seen)
            let hlc = clock.tick(wallMillis: now)
            var u = Cxsync_V1_AlertUpdate()
            u.alertID = id
            u.status = Cxsync_V1_AlertStatus(status)
            if let note {
                var n = Cxsync_V1_LWWString()
                n.value = note
                n.hlc = hlc.rawValue
                n.node = node
                u.note = n
            }
            u.rule = row["rule"]
            u.severity = row["severity"]
            u.storeID = row["store_id"]
            u.summary = row["summary"]
            u.raisedHlc = UInt64(bitPattern: row["raised_hlc"] as Int64)
            try Self.mergeAlert(u, maxDriftMillis: self.maxDriftMillis, db)
            try Self.enqueue(u, db, &counters)
            try counters.save(db)
            return true
        }
        guard found else { return nil }
        return try await alerts().first { $0.alertID == id }
    }

    /// Gives an alert update the next outbox seq.
    static func enqueue(_ update: Cxsync_V1_AlertUpdate, _ db: Database, _ counters: inout Counters) throws {
        let seq = counters["next_seq"]
        counters["next_seq"] = seq + 1
        try db.cachedStatement(sql: "INSERT INTO alert_outbox (seq, alert_id, payload) VALUES (?, ?, ?)").execute(
            arguments: [seq, update.alertID, Data(try update.serializedBytes() as [UInt8])])
    }

    /// Alert updates of the outbox after `seq`, up to `through` (inclusive), in order.
    ///
    /// An empty payload is the open update of an alert raised at ingest, built here from the outbox row's columns
    /// (status open: the lattice keeps any later status, which has an outbox entry of its own), or from the alert's
    /// row for entries written before those columns. Alert rows are never deleted; were one missing, its update
    /// would carry the id and status alone, so that the outbox stays gap-free.
    public func outboxAlerts(after seq: UInt64, through: UInt64, limit: Int) async throws -> [OutboxAlert] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT o.seq, o.alert_id, o.payload, coalesce(o.rule, a.rule), coalesce(o.severity, a.severity),
                        coalesce(o.store_id, a.store_id), coalesce(o.summary, a.summary),
                        coalesce(o.raised_hlc, a.raised_hlc)
                    FROM alert_outbox o
                    LEFT JOIN alerts a ON length(o.payload) = 0 AND o.rule IS NULL AND a.alert_id = o.alert_id
                    WHERE o.seq > ? AND o.seq <= ? ORDER BY o.seq LIMIT ?
                    """,
                arguments: [Int64(seq), Int64(clamping: through), limit]
            ).map { row in
                let payload = row[2] as Data
                var update: Cxsync_V1_AlertUpdate
                if payload.isEmpty {
                    update = Cxsync_V1_AlertUpdate()
                    update.alertID = row[1]
                    update.status = .open
                    if let rule = row[3] as String? {
                        update.rule = rule
                        update.severity = row[4]
                        update.storeID = row[5]
                        update.summary = row[6]
                        update.raisedHlc = UInt64(bitPattern: row[7] as Int64)
                    }
                } else {
                    update = try Cxsync_V1_AlertUpdate(serializedBytes: [UInt8](payload))
                }
                return OutboxAlert(seq: UInt64(row[0] as Int64), alertID: row[1], update: update)
            }
        }
    }

    func dueWebhooks(now: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT id, alert_id, body, attempts FROM webhook_queue WHERE next_attempt_at <= ? ORDER BY id LIMIT ?",
                arguments: [now, limit]
            ).map { WebhookDelivery(id: $0[0], alertID: $0[1], body: [UInt8]($0[2] as Data), attempts: $0[3]) }
        }
    }

    func webhookDelivered(_ id: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM webhook_queue WHERE id = ?", arguments: [id])
            try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'webhook_delivered_total'")
        }
    }

    func webhookFailed(_ id: Int64, retryAt: Int64, error: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql:
                    "UPDATE webhook_queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                arguments: [retryAt, error, id])
            try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'webhook_failures_total'")
        }
    }

    /// Drops a delivery the webhook will not take (`WebhookRetryPolicy`), counted.
    func webhookAbandoned(_ id: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM webhook_queue WHERE id = ?", arguments: [id])
            try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'webhook_failures_total'")
            try db.execute(sql: "UPDATE counters SET value = value + 1 WHERE name = 'webhook_abandoned_total'")
        }
    }

    /// Deliveries still waiting (for status and tests).
    public func pendingWebhooks() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM webhook_queue") ?? 0 }
    }
}

extension [OutboxAlert] {
    /// Joins updates of the same alert into one (status by the lattice, note and assignee by (hlc, node)),
    /// carried at the highest seq of the group: fewer items, same state at the hub.
    func joined() -> [OutboxAlert] {
        var byID: [String: OutboxAlert] = [:]
        var order: [String] = []
        for item in self {
            guard var current = byID[item.alertID] else {
                byID[item.alertID] = item
                order.append(item.alertID)
                continue
            }
            let u = item.update
            current.seq = Swift.max(current.seq, item.seq)
            current.update.status =
                Cxsync_V1_AlertStatus(
                    rawValue: Swift.max(current.update.status.rawValue, u.status.rawValue)) ?? u.status
            if u.hasNote
                && (!current.update.hasNote
                    || (u.note.hlc, u.note.node) > (current.update.note.hlc, current.update.note.node))
            {
                current.update.note = u.note
            }
            if u.hasAssignee
                && (!current.update.hasAssignee
                    || (u.assignee.hlc, u.assignee.node) > (current.update.assignee.hlc, current.update.assignee.node))
            {
                current.update.assignee = u.assignee
            }
            byID[item.alertID] = current
        }
        return order.compactMap { byID[$0] }.sorted { $0.seq < $1.seq }
    }
}
