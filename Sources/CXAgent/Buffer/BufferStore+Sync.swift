import CXCore
import CXProtocol
import Foundation
import GRDB
import Logging
import SwiftProtobuf
import Synchronization

/// Where the outbox stands relative to the hub, read from a constant number of pages.
public struct SyncPosition: Sendable, Hashable {
    public var lastSeq: UInt64
    public var syncedThrough: UInt64
    public var oldestUnsyncedOccurredAt: Int64?
    public var usedBytes: Int64
    public var downstreamCursor: UInt64

    public var unsynced: UInt64 { lastSeq > syncedThrough ? lastSeq - syncedThrough : 0 }
}

/// An alert as the agent holds it: raised locally or received from the hub, merged as a CRDT.
public struct StoredAlert: Sendable, Hashable, Codable {
    public var alertID: String
    public var status: String
    public var note: String?
    public var assignee: String?
    public var rule: String
    public var severity: String
    public var storeID: String
    public var summary: String
    public var raisedAt: Int64
    public var updatedAt: Int64

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id"
        case status, note, assignee, rule, severity
        case storeID = "store_id"
        case summary
        case raisedAt = "raised_at"
        case updatedAt = "updated_at"
    }
}

/// One configuration value set at the hub.
public struct HubConfigEntry: Sendable, Hashable, Codable {
    public var collection: String
    public var key: String
    public var field: String
    public var value: String?

    public init(collection: String, key: String, field: String, value: String?) {
        self.collection = collection
        self.key = key
        self.field = field
        self.value = value
    }
}

extension BufferStore {
    public func syncPosition() async throws -> SyncPosition {
        try await pool.read { db in
            let c = try Counters.load(db)
            let last = UInt64(c["next_seq"] - 1)
            let synced = UInt64(c["synced_through"])
            let oldest = try Int64.fetchOne(
                db, sql: "SELECT occurred_at FROM events WHERE seq > ? ORDER BY seq LIMIT 1", arguments: [Int64(synced)]
            )
            let cursor = try Self.stateInt(db, "downstream_cursor") ?? 0
            return SyncPosition(
                lastSeq: last, syncedThrough: synced, oldestUnsyncedOccurredAt: oldest,
                usedBytes: try Self.usedBytes(db),
                downstreamCursor: UInt64(cursor))
        }
    }

    /// The smallest seq still stored after `seq` (nil: none), to tell a drained outbox from evicted copies.
    public func firstStoredSeq(after seq: UInt64) async throws -> UInt64? {
        try await pool.read { db in
            try Int64.fetchOne(
                db,
                sql: "SELECT min(s) FROM (SELECT min(seq) AS s FROM events WHERE seq > ?1 "
                    + "UNION ALL SELECT min(seq) FROM alert_outbox WHERE seq > ?1)",
                arguments: [Int64(seq)]
            ).map(UInt64.init)
        }
    }

    public func loadInFlight() async throws -> SyncStateMachine.InFlight? {
        try await pool.read { db in
            guard let frame = try Data.fetchOne(db, sql: "SELECT value FROM sync_state WHERE key = 'inflight_frame'"),
                let from = try Self.stateInt(db, "inflight_from"), let to = try Self.stateInt(db, "inflight_to")
            else { return nil }
            return SyncStateMachine.InFlight(
                seqFrom: UInt64(from), seqTo: UInt64(to), frame: Array(frame),
                sealedAtMillis: try Self.stateInt(db, "inflight_sealed_at") ?? 0)
        }
    }

    /// The hub holds seqs above the highest this buffer ever sent (`sent_through`): the buffer was restored from a
    /// copy, or the disk lost writes it had synced. The hub's seqs up to its mark came from the history this buffer
    /// is a prefix of; this buffer's rows after `sent` were never sent from here, and may be events written since the
    /// restore under seqs the hub holds for others. They move after the hub's mark (events, alert updates, the model
    /// versions and marks that refer to seqs), so that they are sent; events the hub does hold come back as
    /// duplicates, which it drops. Before, the hub took such a batch for one it had merged, the acknowledgement
    /// marked its events synced unsent, and eviction lost them.
    func renumberUnsent(after sent: Int64, aboveMark mark: Int64, _ counters: inout Counters, _ db: Database) throws {
        let shift = mark - sent
        let last = counters["next_seq"] - 1
        let moved = max(0, last - sent)
        self.logger.error(
            "the hub holds seqs this buffer never sent (a restored or copied database, or lost writes): its unsent rows are numbered after the hub's mark",
            metadata: [
                "sent_through": "\(sent)", "hub_high_water_mark": "\(mark)", "last_seq": "\(last)",
                "renumbered": "\(moved)",
            ])
        if moved > 0 {
            // Through negative values: a shift smaller than the rows moved would collide with rows not moved yet.
            for (table, column) in [("events", "seq"), ("alert_outbox", "seq"), ("model_versions", "first_seq")] {
                try db.execute(
                    sql: "UPDATE \(table) SET \(column) = -(\(column) + ?) WHERE \(column) > ?",
                    arguments: [shift, sent])
                try db.execute(sql: "UPDATE \(table) SET \(column) = -\(column) WHERE \(column) < 0")
            }
            if counters["alerts_materialized_through"] > sent { counters["alerts_materialized_through"] += shift }
            if let pending = try Self.stateInt(db, "erasure_pending_through"), pending > sent {
                try Self.setState(db, "erasure_pending_through", pending + shift)
            }
        }
        counters["next_seq"] = max(counters["next_seq"] + shift, mark + 1)
        try Self.setState(db, "sent_through", mark)
    }

    /// Persists the batch about to be posted (durably, before the first post).
    public func saveInFlight(_ batch: SyncStateMachine.InFlight) async throws {
        try await pool.write { db in
            let sent = try Self.stateInt(db, "sent_through") ?? 0
            try Self.setState(db, "sent_through", max(sent, Int64(batch.seqTo)))
            try Self.setState(db, "inflight_frame", Data(batch.frame))
            try Self.setState(db, "inflight_from", Int64(batch.seqFrom))
            try Self.setState(db, "inflight_to", Int64(batch.seqTo))
            try Self.setState(db, "inflight_sealed_at", batch.sealedAtMillis)
        }
    }

    public func discardInFlight() async throws {
        try await pool.write { db in try Self.clearInFlight(db) }
    }

    /// Applies an acknowledgement in one transaction: the hub's high-water mark, the downstream delta and its
    /// cursor, the measured clock offset, the counters; the persisted batch is dropped.
    public func commitAck(
        highWaterMark: UInt64, downstream: Cxsync_V1_Downstream?, clockOffsetMillis: Int64?, sentEvents: Int,
        sentBytes: Int
    ) async throws {
        try await pool.write { db in
            var counters = try Counters.load(db)
            let last = counters["next_seq"] - 1
            let mark = Int64(clamping: highWaterMark)
            // Absent in a buffer from before it was kept: everything written counts as sent (nothing is renumbered).
            let sent = try Self.stateInt(db, "sent_through") ?? last
            if mark > sent {
                try self.renumberUnsent(after: sent, aboveMark: mark, &counters, db)
            }
            try self.advanceSynced(&counters, through: mark, db)
            if sentEvents > 0 || sentBytes > 0 {
                counters["sync_batches_total"] += 1
                counters["sync_events_total"] += Int64(sentEvents)
                counters["sync_bytes_total"] += Int64(sentBytes)
            }
            // Raised alerts leave the outbox here: into `alerts` first.
            try Self.materializeAlerts(db, &counters)
            try counters.save(db)
            try db.execute(sql: "DELETE FROM alert_outbox WHERE seq <= ?", arguments: [counters["synced_through"]])
            try Self.clearInFlight(db)
            if let downstream {
                try self.apply(downstream, counters, db)
                // Once committed, on the writer's queue before its next transaction: a group commit after this one sees
                // the new generation (`writeGroup`), one before it wrote events that the sweep set by `apply` covers.
                if !downstream.erasures.isEmpty {
                    let subjects = downstream.erasures.map(\.subject)
                    db.afterNextTransaction { _ in self.erased.withLock { $0.add(subjects) } }
                }
            }
            if let clockOffsetMillis { try Self.setState(db, "clock_offset_ms", clockOffsetMillis) }
            try Self.setState(db, "last_ack_at", Self.nowMillis())
            try Self.setState(db, "hub_high_water_mark", Int64(highWaterMark))
        }
    }

    /// Adds to sync counters outside an acknowledgement (failures, refusals, stalls).
    public func count(_ name: String, by amount: Int64 = 1) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE counters SET value = value + ? WHERE name = ?", arguments: [amount, name])
        }
    }

    /// The sync figures for `GET /v1/sync` and `cx-agent status`.
    public func syncState() async throws -> [String: Int64] {
        try await pool.read { db in
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM sync_state WHERE key NOT LIKE 'inflight_%'") {
                if let v = row[1] as Int64? { out[row[0]] = v }
            }
            let counters = try Counters.load(db)
            for name in BufferSchema.syncCounterNames { out[name] = counters[name] }
            return out
        }
    }

    /// The stored alerts, latest raised first, at most `limit`: the rows of `alerts` and the raised alerts that only
    /// the outbox holds so far (`materializeAlerts`), each id once.
    public func alerts(status: AlertStatus? = nil, limit: Int = .max) async throws -> [StoredAlert] {
        try await pool.read { db in
            var sql = """
                SELECT * FROM (
                    SELECT alert_id, status, note, assignee, rule, severity, store_id, summary, raised_hlc, updated_at
                    FROM alerts
                    UNION ALL
                    SELECT o.alert_id, \(AlertStatus.open.rawValue), NULL, NULL, o.rule, o.severity, o.store_id, o.summary,
                        o.raised_hlc, o.raised_at
                    FROM alert_outbox o
                    WHERE o.seq > (SELECT value FROM counters WHERE name = 'alerts_materialized_through')
                        AND o.rule IS NOT NULL AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.alert_id = o.alert_id)
                )
                """
            var args: StatementArguments = []
            if let status {
                sql += " WHERE status = ?"
                args = [status.rawValue]
            }
            sql += " ORDER BY raised_hlc DESC"
            // `NOT EXISTS` lets a row of `alerts` win over an outbox entry of its id; this set lists an id raised
            // twice while waiting (two outbox entries) once.
            var seen = Set<String>()
            var out: [StoredAlert] = []
            // A cursor, read until `limit`: alerts are kept for good, and a kiosk screen polling the list sorted and
            // encoded every alert ever raised.
            let rows = try Row.fetchCursor(db, sql: sql, arguments: args)
            while out.count < limit, let row = try rows.next() {
                guard seen.insert(row[0]).inserted else { continue }
                let status = AlertStatus(rawValue: row[1]) ?? .open
                out.append(
                    StoredAlert(
                        alertID: row[0], status: status.description, note: row[2], assignee: row[3], rule: row[4],
                        severity: row[5], storeID: row[6], summary: row[7],
                        raisedAt: HLCTimestamp(rawValue: UInt64(bitPattern: row[8] as Int64)).wallMillis,
                        updatedAt: row[9]))
            }
            return out
        }
    }

    public func hubConfig() async throws -> [HubConfigEntry] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT collection, key, field, value FROM hub_config ORDER BY collection, key, field"
            )
            .map { HubConfigEntry(collection: $0[0], key: $0[1], field: $0[2], value: $0[3]) }
        }
    }

    /// Applies a downstream delta; `counters` are the buffer's as the acknowledgement left them.
    func apply(_ d: Cxsync_V1_Downstream, _ counters: Counters, _ db: Database) throws {
        for u in d.config {
            try db.execute(
                sql: """
                    INSERT INTO hub_config (collection, key, field, value, hlc, node) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (collection, key, field) DO UPDATE SET value = excluded.value, hlc = excluded.hlc,
                        node = excluded.node
                    WHERE (excluded.hlc, excluded.node) > (hub_config.hlc, hub_config.node)
                    """,
                arguments: [
                    u.collection, u.key, u.field, u.hasValue ? u.value : nil, Int64(bitPattern: u.hlc), u.node,
                ])
        }
        for a in d.alerts { try Self.mergeAlert(a, maxDriftMillis: maxDriftMillis, db) }
        for e in d.erasures {
            try db.execute(
                sql:
                    "INSERT INTO erasures (subject, hlc) VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET hlc = max(hlc, excluded.hlc)",
                arguments: [e.subject, Int64(bitPattern: e.hlc)])
        }
        if !d.erasures.isEmpty {
            try eraseLocalCopies(
                of: ErasedCustomers(subjects: d.erasures.map(\.subject)), after: 0, through: counters["synced_through"],
                db)
            // Events buffered but not yet synced flow on to the hub, which drops them; their copies here go once
            // they are synced (`advanceSynced`). Seqs only grow, so the last one covers any earlier erasure's too.
            let last = counters["next_seq"] - 1
            if last > counters["synced_through"] { try Self.setState(db, "erasure_pending_through", last) }
        }
        if d.cursor > 0 {
            let current = try Self.stateInt(db, "downstream_cursor") ?? 0
            try Self.setState(db, "downstream_cursor", max(current, Int64(d.cursor)))
        }
    }

    /// Joins an alert update into the stored alert: status by the lattice, note and assignee by (hlc, node).
    /// Merges an alert update into the local row. A note or assignee stored with an HLC more than `maxDriftMillis`
    /// ahead of the clock (written while the box's clock ran ahead) loses to any update: it was sent stamped now
    /// (`BatchBuilder`), and kept here it would hide every later note from the hub or the store until that date.
    static func mergeAlert(_ a: Cxsync_V1_AlertUpdate, maxDriftMillis: Int64, _ db: Database) throws {
        let status = AlertStatus(rawValue: Int(a.status.rawValue)) ?? .open
        let now = nowMillis()
        let (latestWall, overflow) = now.addingReportingOverflow(maxDriftMillis)
        let latest = Int64(
            bitPattern: HLCTimestamp(wallMillis: overflow ? .max >> 16 : latestWall, counter: 0).rawValue)
        try db.execute(
            sql: """
                INSERT INTO alerts (alert_id, status, rule, severity, store_id, summary, raised_hlc, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (alert_id) DO UPDATE SET status = max(status, excluded.status), updated_at = excluded.updated_at
                """,
            arguments: [
                a.alertID, status.rawValue, a.rule, a.severity, a.storeID, a.summary, Int64(bitPattern: a.raisedHlc),
                now,
            ])
        for (field, register) in [("note", a.hasNote ? a.note : nil), ("assignee", a.hasAssignee ? a.assignee : nil)] {
            guard let register else { continue }
            try db.execute(
                sql: """
                    UPDATE alerts SET \(field) = ?, \(field)_hlc = ?, \(field)_node = ?
                    WHERE alert_id = ?
                        AND (\(field)_hlc IS NULL OR \(field)_hlc > ? OR (?, ?) > (\(field)_hlc, \(field)_node))
                    """,
                arguments: [
                    register.value, Int64(bitPattern: register.hlc), register.node, a.alertID, latest,
                    Int64(bitPattern: register.hlc), register.node,
                ])
        }
    }

    static func clearInFlight(_ db: Database) throws {
        try db.execute(
            sql:
                "DELETE FROM sync_state WHERE key IN ('inflight_frame', 'inflight_from', 'inflight_to', 'inflight_sealed_at')"
        )
    }

    static func stateInt(_ db: Database, _ key: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT value FROM sync_state WHERE key = ?", arguments: [key])
    }

    static func setState(_ db: Database, _ key: String, _ value: some DatabaseValueConvertible) throws {
        try db.execute(
            sql:
                "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            arguments: [key, value])
    }

    /// Deletes the local copies of erased customers among the synced events `lower < seq <= upper` (the hub has
    /// deleted its own and drops anything of theirs that arrives later, so unsynced copies are left to flow and be
    /// dropped there: the outbox stays gap-free). A scan, for a rare operation. A copy stored unhashed (enrichment
    /// off) is known by its keyed hash too (`identifierHasher`), which is all the hub's tombstones hold.
    func eraseLocalCopies(of erased: ErasedCustomers, after lower: Int64, through upper: Int64, _ db: Database) throws {
        let hasher = identifierHasher.withLock { $0 }
        var doomed: [Int64] = []
        let rows = try Row.fetchCursor(
            db, sql: "SELECT seq, payload FROM events WHERE seq > ? AND seq <= ?", arguments: [lower, upper])
        while let row = try rows.next() {
            let payload: Data = row[1]
            guard let event = try? Cxsync_V1_Event(serializedBytes: [UInt8](payload)) else { continue }
            let customer = event.sentCustomerID
            if !customer.isEmpty && erased.contains(unhashed: customer, hashedBy: hasher) { doomed.append(row[0]) }
        }
        for start in stride(from: 0, to: doomed.count, by: 500) {
            let chunk = doomed[start..<min(start + 500, doomed.count)]
            try db.execute(
                sql: "DELETE FROM events WHERE seq IN (\(chunk.map(String.init).joined(separator: ",")))")
        }
        try db.execute(
            sql: """
                INSERT INTO counters (name, value) VALUES ('erased_local_total', ?)
                ON CONFLICT (name) DO UPDATE SET value = value + excluded.value
                """,
            arguments: [doomed.count])
    }

    /// Moves `synced_through` up to `seq` (never back). The newly synced events that were buffered before an
    /// erasure came down lose their erased customers' copies now, as the synced ones did when it came: without this
    /// they stayed for good whenever the erasure reached the store before they reached the hub.
    func advanceSynced(_ counters: inout Counters, through seq: Int64, _ db: Database) throws {
        let lower = counters["synced_through"]
        guard seq > lower else { return }
        counters["synced_through"] = seq
        guard let pending = try Self.stateInt(db, "erasure_pending_through"), pending > lower else { return }
        // The erasures recorded before this transaction: those in memory (`erased` changes only once one commits).
        try eraseLocalCopies(of: erased.withLock { $0 }, after: lower, through: min(seq, pending), db)
        if seq >= pending { try db.execute(sql: "DELETE FROM sync_state WHERE key = 'erasure_pending_through'") }
    }

    /// Records that events from the next seq on are scored by `version` (a no-op when it already is the latest).
    public func recordModelVersion(_ version: String) async throws {
        try await pool.write { db in
            let last = try String.fetchOne(
                db, sql: "SELECT version FROM model_versions ORDER BY first_seq DESC LIMIT 1")
            guard last != version else { return }
            let next = try Int64.fetchOne(db, sql: "SELECT value FROM counters WHERE name = 'next_seq'") ?? 1
            try db.execute(
                sql: "INSERT OR REPLACE INTO model_versions (first_seq, version) VALUES (?, ?)",
                arguments: [next, version])
        }
    }

    /// The model version history, oldest first: `(first_seq, version)`.
    public func modelVersions() async throws -> [(UInt64, String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT first_seq, version FROM model_versions ORDER BY first_seq").map {
                (UInt64($0[0] as Int64), $0[1] as String)
            }
        }
    }
}
