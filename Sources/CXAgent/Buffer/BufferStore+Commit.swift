import CXCore
import CXInsight
import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

extension BufferStore {
    /// Writes several requests in one transaction and one fsync (group commit).
    ///
    /// Each request is all-or-nothing for the quota: when its unsynced data would pass the quota even after
    /// evicting every synced local copy, none of it is stored and it gets `.quotaExceeded`.
    /// `alerts[i]` are the alerts raised by `submissions[i]`; they are stored with it, or not at all.
    public func commit(
        _ submissions: [[PreparedEvent]], alerts: [[PreparedAlert]] = [], notifyWebhook: Bool = false
    ) async throws -> [SubmissionOutcome] {
        try await pool.write { db in
            try self.writeGroup(submissions, alerts: alerts, notifyWebhook: notifyWebhook, db)
        }
    }

    /// `commit` on the writer connection, in its own transaction: the group committer calls it from the
    /// writer's queue, so that one commit follows the next without a hop through the cooperative pool.
    /// `checked[i]` is the generation of the erased customers that `submissions[i]` was checked against (nil:
    /// unchecked, as for `commit`).
    func commitOnWriter(
        _ submissions: [[PreparedEvent]], alerts: [[PreparedAlert]], notifyWebhook: Bool, checked: [UInt64?] = [],
        _ db: Database
    ) throws -> [SubmissionOutcome] {
        var outcomes: [SubmissionOutcome] = []
        try db.inTransaction(.immediate) {
            outcomes = try writeGroup(
                submissions, alerts: alerts, notifyWebhook: notifyWebhook, checked: checked, db)
            return .commit
        }
        return outcomes
    }

    /// The body of a group commit, inside the caller's transaction.
    private func writeGroup(
        _ submissions: [[PreparedEvent]], alerts: [[PreparedAlert]], notifyWebhook: Bool, checked: [UInt64?] = [],
        _ db: Database
    ) throws -> [SubmissionOutcome] {
        // A request checked against the erased customers before an erasure came down (which committed before this
        // transaction began) may hold their events: its rows are swept once synced, as the erasure's own were.
        let generation = checked.isEmpty ? 0 : erased.withLock { $0.generation }
        var sweepThrough: Int64 = 0
        let quota = quotaBytes
        let drift = maxDriftMillis
        var counters = try Counters.load(db)
        var last = HLCTimestamp(rawValue: UInt64(counters["hlc_last"]))
        let wall = Self.nowMillis()
        if last.wallMillis > wall + drift {
            // The clock was far ahead when it last stamped (a box that booted in 2035, then NTP set it right): an
            // HLC never goes back, so every event from now on would carry that date, and the hub refuses HLCs more
            // than the drift ahead of its own clock. The clock starts again from the wall clock.
            logger.warning(
                "the saved clock is ahead of the wall clock by more than the allowed drift; it starts again from now",
                metadata: ["saved_wall_ms": "\(last.wallMillis)", "wall_ms": "\(wall)"])
            last = HLCTimestamp(wallMillis: wall, counter: 0)
        }
        var clock = HybridLogicalClock(maxDrift: .milliseconds(drift), last: last)
        var outcomes: [SubmissionOutcome] = []
        outcomes.reserveCapacity(submissions.count)
        let insert = try db.cachedStatement(
            sql: "INSERT INTO events (seq, event_id, occurred_at, type, hlc, payload, theme_codes) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?) "
                + "ON CONFLICT (occurred_at, event_id) DO NOTHING")
        let s = insert.sqliteStatement
        let connection = db.sqliteConnection
        // Ids stored by this transaction: they join the recent window once it commits, never before.
        var stored: [UUID: Int64] = [:]
        for (index, events) in submissions.enumerated() {
            // Exact rather than estimated: the request runs in a savepoint, and if the pages it took pass the
            // quota even after evicting synced copies, it is undone whole (its evictions too).
            let before = (counters, clock, stored)
            var results: [EventOutcome] = []
            var overQuota = false
            try db.inSavepoint {
                results.reserveCapacity(events.count)
                let now = Self.nowMillis()
                var nextSeq = counters["next_seq"]
                var duplicates: Int64 = 0
                for e in events {
                    // Same id under another occurred_at: a retry whose ts changed (RecentEventIDs).
                    if let time = stored[e.eventID] ?? self.recent.withLock({ $0.occurredAt(of: e.eventID) }),
                        time != e.occurredAt
                    {
                        duplicates += 1
                        results.append(.duplicate)
                        continue
                    }
                    let hlc = clock.tick(wallMillis: now)
                    // Bound without copies (SQLITE_STATIC): the buffers outlive the step that reads them.
                    let rc = e.bytes.withUnsafeBytes { bytes in
                        withUnsafeBytes(of: e.eventID.uuid) { id in
                            let payload = bytes.count - e.themeCodeCount
                            sqlite3_reset(s)
                            sqlite3_bind_int64(s, 1, nextSeq)
                            sqlite3_bind_blob(s, 2, id.baseAddress, 16, nil)
                            sqlite3_bind_int64(s, 3, e.occurredAt)
                            Self.bindText(s, 4, e.type.rawValue)
                            sqlite3_bind_int64(s, 5, Int64(bitPattern: hlc.rawValue))
                            sqlite3_bind_blob(s, 6, bytes.baseAddress, Int32(payload), nil)
                            if e.themeCodeCount == 0 {
                                sqlite3_bind_null(s, 7)
                            } else {
                                sqlite3_bind_blob(s, 7, bytes.baseAddress! + payload, Int32(e.themeCodeCount), nil)
                            }
                            return sqlite3_step(s)
                        }
                    }
                    guard rc == SQLITE_DONE else {
                        sqlite3_reset(s)
                        sqlite3_clear_bindings(s)
                        throw Self.stepError(rc, connection)
                    }
                    if sqlite3_changes(connection) == 1 {
                        stored[e.eventID] = e.occurredAt
                        results.append(.accepted(seq: UInt64(nextSeq)))
                        nextSeq += 1
                    } else {
                        duplicates += 1
                        results.append(.duplicate)
                    }
                }
                sqlite3_reset(s)
                sqlite3_clear_bindings(s)
                counters["accepted_total"] += nextSeq - counters["next_seq"]
                counters["duplicates_total"] += duplicates
                counters["next_seq"] = nextSeq
                if index < alerts.count && !alerts[index].isEmpty {
                    // Only alerts of events stored now: a producer's retry of events stored before (after a lost
                    // answer, or `cx-agent ingest` of a file again) raised the same alerts again, each sent to the
                    // hub and the webhook, whenever the cooldown had passed or the process was new.
                    var kept = alerts[index]
                    if duplicates > 0 {
                        let storedNow = Set(
                            zip(events, results).compactMap { e, r -> UUID? in
                                if case .accepted = r { return e.eventID }
                                return nil
                            })
                        kept.removeAll { alert in !alert.eventIDs.contains { storedNow.contains($0) } }
                        // An event twice in one request raised its alerts twice (the second as its retry), under one
                        // id: stored and delivered once.
                        var ids = Set<String>()
                        kept.removeAll { !ids.insert($0.id).inserted }
                    }
                    if !kept.isEmpty { try Self.insertAlerts(kept, notifyWebhook: notifyWebhook, db, &counters) }
                }
                var used = try Self.usedBytes(db)
                if used > quota {
                    counters["evicted_total"] += try Self.evictSynced(
                        db, bytesNeeded: used - quota, syncedThrough: counters["synced_through"])
                    used = try Self.usedBytes(db)
                }
                if used > quota {
                    overQuota = true
                    return .rollback
                }
                return .commit
            }
            if overQuota {
                (counters, clock, stored) = before
                let used = try Self.usedBytes(db)
                counters["refused_events_total"] += Int64(events.count)
                counters["refused_requests_total"] += 1
                outcomes.append(.quotaExceeded(usedBytes: used, quotaBytes: quota))
                continue
            }
            if index < checked.count, let g = checked[index], g < generation, !events.isEmpty {
                sweepThrough = counters["next_seq"] - 1
            }
            outcomes.append(.committed(results))
        }
        if sweepThrough > counters["synced_through"] {
            let pending = try Self.stateInt(db, "erasure_pending_through") ?? 0
            if sweepThrough > pending { try Self.setState(db, "erasure_pending_through", sweepThrough) }
        }
        if counters["alerts_unmaterialized"] >= Self.alertsPerMaterialization {
            try Self.materializeAlerts(db, &counters)
        }
        counters["hlc_last"] = Int64(bitPattern: clock.last.rawValue)
        try counters.save(db)
        let committed = stored
        db.afterNextTransaction { _ in
            self.recent.withLock { window in for (id, time) in committed { window.insert(id, occurredAt: time) } }
        }
        return outcomes
    }

    /// The error of a hand-bound statement whose step returned `rc`, with SQLite's message for it.
    static func stepError(_ rc: Int32, _ connection: OpaquePointer?) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(connection)))
    }

    /// Runs a statement that returns no rows once, with the values `bind` binds by hand: the group commit's
    /// statements (alerts, counters) skip `StatementArguments` and its boxed values.
    static func step(_ statement: Statement, _ connection: OpaquePointer?, _ bind: (OpaquePointer?) -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        bind(s)
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        sqlite3_clear_bindings(s)
        guard rc == SQLITE_DONE else { throw stepError(rc, connection) }
    }

    /// Binds a short string (copied: SQLite keeps it past the closure).
    static func bindText(_ s: OpaquePointer?, _ index: Int32, _ value: String) {
        var v = value
        v.withUTF8 { u in
            _ = u.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(s, index, $0.baseAddress, Int32($0.count), Self.transient)
            }
        }
    }

    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Bytes the database occupies, free pages excluded (they are reused before the file grows).
    /// One cached statement: the commit asks after every request of a group.
    static func usedBytes(_ db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: "SELECT (c.page_count - f.freelist_count) * s.page_size "
                + "FROM pragma_page_count() c, pragma_freelist_count() f, pragma_page_size() s")
        return try Int64.fetchOne(statement) ?? 0
    }

    /// Deletes the oldest synced local copies until about `bytesNeeded` are freed; returns how many went.
    static func evictSynced(_ db: Database, bytesNeeded: Int64, syncedThrough: Int64) throws -> Int64 {
        var evicted: Int64 = 0
        var freed: Int64 = 0
        while freed < bytesNeeded {
            let before = try usedBytes(db)
            try db.execute(
                sql: "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT 2000)",
                arguments: [syncedThrough])
            let n = Int64(db.changesCount)
            if n == 0 { break }
            evicted += n
            freed += max(0, before - (try usedBytes(db)))
        }
        return evicted
    }

    /// Records that the hub has made every seq up to `seq` durable; those rows become evictable copies.
    public func markSynced(through seq: UInt64) async throws {
        try await pool.write { db in
            var counters = try Counters.load(db)
            let last = counters["next_seq"] - 1
            guard Int64(seq) <= last else {
                throw BufferError(
                    code: "seq_ahead", message: "hub acknowledged seq \(seq) beyond the last stored \(last)")
            }
            try self.advanceSynced(&counters, through: Int64(seq), db)
            try counters.save(db)
        }
    }

    /// Up to `limit` outbox rows after `seq`, in order: memory stays bounded whatever the backlog.
    public func outboxPage(after seq: UInt64, limit: Int) async throws -> [OutboxEntry] {
        let book = themeCodebook
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT seq, hlc, payload, event_id, occurred_at, theme_codes FROM events "
                    + "WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [Int64(seq), limit]
            ).map { row in
                let id = row[3] as Data
                guard id.count == 16 else {
                    throw BufferError(code: "bad_outbox_row", message: "outbox seq \(row[0] as Int64) has no event id")
                }
                return OutboxEntry(
                    seq: UInt64(row[0] as Int64), hlc: HLCTimestamp(rawValue: UInt64(bitPattern: row[1] as Int64)),
                    payload: Array(row[2] as Data),
                    eventID: UUID(uuid: id.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }),
                    occurredAt: row[4], themes: (row[5] as Data?).map { book.decode($0) } ?? [])
            }
        }
    }

    public func stats() async throws -> BufferStats {
        let identity = identity
        let quota = quotaBytes
        return try await pool.read { db in
            let c = try Counters.load(db)
            let last = UInt64(c["next_seq"] - 1)
            let synced = UInt64(c["synced_through"])
            let stored = try UInt64(Int64.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0)
            let oldest = try Int64.fetchOne(
                db, sql: "SELECT occurred_at FROM events WHERE seq > ? ORDER BY seq LIMIT 1", arguments: [Int64(synced)]
            )
            var stats = BufferStats(
                agentID: identity.agentID, epoch: identity.epoch, lastSeq: last, syncedThrough: synced,
                unsynced: last - synced, storedEvents: stored, oldestUnsyncedOccurredAt: oldest,
                usedBytes: try Self.usedBytes(db), quotaBytes: quota, acceptedTotal: UInt64(c["accepted_total"]),
                duplicatesTotal: UInt64(c["duplicates_total"]), evictedTotal: UInt64(c["evicted_total"]),
                refusedEventsTotal: UInt64(c["refused_events_total"]),
                refusedRequestsTotal: UInt64(c["refused_requests_total"]),
                lostInRecoveryTotal: UInt64(c["lost_in_recovery_total"]))
            stats.webhookPending = UInt64(try Int64.fetchOne(db, sql: "SELECT count(*) FROM webhook_queue") ?? 0)
            stats.webhookDeliveredTotal = UInt64(max(0, c["webhook_delivered_total"]))
            stats.webhookFailuresTotal = UInt64(max(0, c["webhook_failures_total"]))
            stats.webhookAbandonedTotal = UInt64(max(0, c["webhook_abandoned_total"]))
            return stats
        }
    }
}

/// The counters row set, loaded and saved inside the caller's transaction.
struct Counters {
    var values: [String: Int64]
    private var original: [String: Int64]

    /// Every counter, as the transaction sees them. Every group commit loads them: through `Row.fetchAll` (a
    /// statement compiled each time, a `Row` per counter) that cost 0.24 us per ingested event (about 50 us per
    /// commit) in a profile of plain ingest; through a cached statement read column by column, 0.06.
    static func load(_ db: Database) throws -> Counters {
        let s = try db.cachedStatement(sql: "SELECT name, value FROM counters").sqliteStatement
        sqlite3_reset(s)
        defer { sqlite3_reset(s) }
        var values: [String: Int64] = [:]
        values.reserveCapacity(32)
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw BufferStore.stepError(rc, db.sqliteConnection) }
            // The schema holds names NOT NULL: only a failed allocation returns no text.
            guard let name = sqlite3_column_text(s, 0) else {
                throw DatabaseError(resultCode: .SQLITE_NOMEM, message: "counters: no memory to read a counter's name")
            }
            values[String(cString: name)] = sqlite3_column_int64(s, 1)
        }
        return Counters(values: values, original: values)
    }

    subscript(name: String) -> Int64 {
        get { values[name] ?? 0 }
        set { values[name] = newValue }
    }

    /// Writes the counters that changed since `load`.
    func save(_ db: Database) throws {
        let update = try db.cachedStatement(sql: "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)")
        for (name, value) in values where original[name] != value {
            try BufferStore.step(update, db.sqliteConnection) { s in
                BufferStore.bindText(s, 1, name)
                sqlite3_bind_int64(s, 2, value)
            }
        }
    }
}

/// The buffer at a glance: its figures plus how the stored events split by type.
public struct BufferSummary: Sendable, Codable {
    public var stats: BufferStats
    public var eventsByType: [String: Int]
    public var firstOccurredAt: Int64?
    public var lastOccurredAt: Int64?

    enum CodingKeys: String, CodingKey {
        case stats
        case eventsByType = "events_by_type"
        case firstOccurredAt = "first_occurred_at"
        case lastOccurredAt = "last_occurred_at"
    }
}

extension BufferStore {
    /// Scans the stored events once (an operator query, not on the ingest path).
    public func summary() async throws -> BufferSummary {
        let stats = try await stats()
        return try await pool.read { db in
            var byType: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT type, count(*) FROM events GROUP BY type") {
                byType[row[0]] = row[1]
            }
            let range = try Row.fetchOne(db, sql: "SELECT min(occurred_at), max(occurred_at) FROM events")
            return BufferSummary(
                stats: stats, eventsByType: byType, firstOccurredAt: range?[0], lastOccurredAt: range?[1])
        }
    }
}
