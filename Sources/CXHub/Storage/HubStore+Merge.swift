import CXCore
import CXProtocol
import Foundation
import GRDB
import GRDBSQLite
import SwiftProtobuf

/// What one merged batch (or poll) produced: the facts of the ack.
public struct MergeResult: Sendable {
    public var highWaterMark: UInt64
    public var duplicate: Bool
    /// Events new to the hub (an event already merged through another path is not counted twice).
    public var insertedEvents: Int
    public var clock: ClockAssessment
    public var hubHLC: HLCTimestamp
    public var downstream: Cxsync_V1_Downstream
}

/// Limits the merge applies that are the hub's own (not the decoder's).
public struct MergePolicy: Sendable {
    public var maxDriftMillis: Int64
    public var skewThresholdMillis: Int64
    public var maxDownstreamItems: Int

    public init(maxDriftMillis: Int64 = 300_000, skewThresholdMillis: Int64 = 120_000, maxDownstreamItems: Int = 500) {
        self.maxDriftMillis = maxDriftMillis
        self.skewThresholdMillis = skewThresholdMillis
        self.maxDownstreamItems = maxDownstreamItems
    }
}

extension HubStore {
    /// Merges a decoded, verified batch in one transaction and commits before returning: the caller acks after.
    ///
    /// Checks that need the database (revocation, store binding, clock) run inside the same transaction, so a
    /// refusal applies nothing.
    public func merge(_ batch: SyncBatch, frameBytes: Int, policy: MergePolicy) async throws(HubError) -> MergeResult {
        let now = Self.nowMillis()
        let sent = HLCTimestamp(rawValue: batch.wire.sentHlc)
        let clock = ClockAssessment.assess(
            sentHLC: sent, hubWallMillis: now, skewThresholdMillis: policy.skewThresholdMillis)
        let result = await committer.submit(
            MergeJob(
                batch: batch, rows: EventRows(batch.events, clock: clock), frameBytes: frameBytes, policy: policy,
                clock: clock, now: now))
        switch result {
        case .success(let r):
            if !r.duplicate { observe(clock.corrected(sent)) }
            return r
        case .failure(let e):
            if e.httpStatus < 500 { await recordRefusal(agentID: batch.agentID, e) }
            throw e
        }
    }

    /// Merges several batches in one transaction, each in a savepoint; returns one result per job, in order.
    func mergeGroup(_ jobs: [MergeJob]) async -> [Result<MergeResult, HubError>] {
        let hubHLCs = jobs.map { _ in tick() }
        do {
            return try await pool.write { db in
                var results: [Result<MergeResult, HubError>] = []
                for (job, hubHLC) in zip(jobs, hubHLCs) {
                    var outcome: Result<MergeResult, HubError> = .failure(
                        HubError("internal", "not merged", status: 500))
                    try db.inSavepoint {
                        do {
                            outcome = .success(
                                try self.mergeInTransaction(
                                    db, job.batch, rows: job.rows, frameBytes: job.frameBytes, now: job.now,
                                    clock: job.clock,
                                    hubHLC: hubHLC, policy: job.policy))
                            return .commit
                        } catch let e as HubError {
                            outcome = .failure(e)
                            return .rollback
                        }
                    }
                    results.append(outcome)
                }
                return results
            }
        } catch {
            let failure = HubError.internal("merge transaction failed", error)
            return jobs.map { _ in .failure(failure) }
        }
    }

    // The body of the merge transaction; throws HubError to roll back.
    func mergeInTransaction(
        _ db: Database, _ batch: SyncBatch, rows: EventRows, frameBytes: Int, now: Int64, clock: ClockAssessment,
        hubHLC: HLCTimestamp, policy: MergePolicy
    ) throws -> MergeResult {
        let w = batch.wire
        guard
            let agentRow = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT store_id, status FROM agents WHERE agent_id = ?"),
                arguments: [w.agentID])
        else {
            throw HubError("unknown_agent", "no enrolled agent '\(w.agentID)'", status: 401)
        }
        guard (agentRow["status"] as String) == "active" else {
            throw HubError("revoked", "agent '\(w.agentID)' was revoked; enroll it again", status: 403)
        }
        let store: String = agentRow["store_id"]
        guard w.storeID == store else {
            throw HubError(
                "store_mismatch",
                "batch is for store '\(w.storeID)' but agent '\(w.agentID)' is enrolled for '\(store)'",
                status: 403)
        }
        for (i, e) in batch.events.enumerated() where e.event.storeID != store {
            throw HubError(
                "store_mismatch",
                "events[\(i)] is for store '\(e.event.storeID)'; agent '\(w.agentID)' may write only '\(store)'",
                status: 403)
        }
        for (i, a) in w.alertUpdates.enumerated() where !a.storeID.isEmpty && a.storeID != store {
            throw HubError(
                "store_mismatch",
                "alert_updates[\(i)] is for store '\(a.storeID)'; agent '\(w.agentID)' may write only '\(store)'",
                status: 403)
        }
        let limit = now + policy.maxDriftMillis
        func checkDrift(_ raw: UInt64, _ what: String) throws {
            let c = clock.corrected(HLCTimestamp(rawValue: raw))
            if c.wallMillis > limit {
                throw HubError(
                    "clock_drift",
                    "\(what) has an HLC \((c.wallMillis - now) / 1000) s ahead of the hub after the sender's measured offset; the limit is \(policy.maxDriftMillis / 1000) s",
                    status: 400)
            }
        }
        for (i, e) in batch.events.enumerated() { try checkDrift(e.event.hlc.rawValue, "events[\(i)]") }
        for (i, u) in w.lwwUpdates.enumerated() { try checkDrift(u.hlc, "lww_updates[\(i)]") }
        // An alert's note and assignee are LWW registers too: one dated years ahead would win every later change.
        for (i, a) in w.alertUpdates.enumerated() {
            if a.hasNote { try checkDrift(a.note.hlc, "alert_updates[\(i)].note") }
            if a.hasAssignee { try checkDrift(a.assignee.hlc, "alert_updates[\(i)].assignee") }
            try checkDrift(a.raisedHlc, "alert_updates[\(i)].raised_hlc")
        }

        let hwm = UInt64(
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT hwm FROM high_water_marks WHERE agent_id = ? AND epoch = ?"),
                arguments: [w.agentID, Int64(w.epoch)]) ?? 0)
        var context = MergeContext(highWaterMark: hwm)
        if !batch.isPoll,
            let prev = try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT content_hash, hwm FROM batches WHERE agent_id = ? AND epoch = ? AND seq_from = ? AND seq_to = ?"
                ),
                arguments: [w.agentID, Int64(w.epoch), Int64(w.seqFrom), Int64(w.seqTo)])
        {
            context.previousHash = [UInt8](prev["content_hash"] as Data)
            context.previousHighWaterMark = UInt64(prev["hwm"] as Int64)
        }
        let decision = MergeDecision.decide(
            seqFrom: w.seqFrom, seqTo: w.seqTo, contentHash: batch.contentHash, isPoll: batch.isPoll, context: context)
        var result = MergeResult(
            highWaterMark: hwm, duplicate: false, insertedEvents: 0, clock: clock, hubHLC: hubHLC,
            downstream: Cxsync_V1_Downstream())
        switch decision {
        case .hashConflict:
            throw HubError(
                "hash_conflict",
                "batch \(w.agentID)/\(w.epoch)/\(w.seqFrom)-\(w.seqTo) was acknowledged before with other content",
                status: 409)
        case .gap(let expected):
            throw HubError.gap(expected: expected, epoch: w.epoch)
        case .duplicate(let h):
            result.highWaterMark = h
            result.duplicate = true
        case .poll(let h):
            result.highWaterMark = h
            try recordAgentContact(
                db, w, now: now, clock: clock, hwm: h, inserted: 0, frameBytes: frameBytes, batch: false)
        case .apply(let above, let newHWM):
            // Only what is new: a batch acknowledged before (an item at or below `above`) answers as it did.
            try AgentWriteScope.check(w, above: above)
            result.insertedEvents = try apply(
                db, batch, rows, store: store, above: above, now: now, clock: clock)
            try db.cachedStatement(
                sql: """
                    INSERT INTO high_water_marks (agent_id, epoch, hwm) VALUES (?, ?, ?)
                    ON CONFLICT(agent_id, epoch) DO UPDATE SET hwm = max(hwm, excluded.hwm)
                    """
            ).execute(arguments: [w.agentID, Int64(w.epoch), Int64(newHWM)])
            try db.cachedStatement(
                sql: """
                    INSERT INTO batches (agent_id, epoch, seq_from, seq_to, content_hash, hwm, acked_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                w.agentID, Int64(w.epoch), Int64(w.seqFrom), Int64(w.seqTo), Data(batch.contentHash),
                Int64(newHWM), now,
            ])
            result.highWaterMark = newHWM
            try recordAgentContact(
                db, w, now: now, clock: clock, hwm: newHWM, inserted: result.insertedEvents, frameBytes: frameBytes,
                batch: true)
        }
        // The cursor this hub last issued to the agent: one above it comes from another history (this hub restored
        // from a backup, or the box's buffer from another hub), and items this hub numbered since under it would be
        // skipped for good, erasures among them. Such a cursor is served from what was issued (a replay of CRDT
        // states, harmless).
        let issued = UInt64(
            try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT downstream_cursor FROM agents WHERE agent_id = ?"),
                arguments: [w.agentID]) ?? 0)
        let from = w.downstreamCursor > issued ? issued : w.downstreamCursor
        result.downstream = try downstream(db, after: from, store: store, limit: policy.maxDownstreamItems)
        try db.cachedStatement(sql: "UPDATE agents SET downstream_cursor = ? WHERE agent_id = ?").execute(
            arguments: [Int64(result.downstream.cursor), w.agentID])
        return result
    }

    func recordAgentContact(
        _ db: Database, _ w: Cxsync_V1_Batch, now: Int64, clock: ClockAssessment, hwm: UInt64, inserted: Int,
        frameBytes: Int, batch: Bool
    ) throws {
        let s = w.status
        try db.cachedStatement(
            sql: """
                UPDATE agents SET last_sync_at = ?, epoch = ?, high_water_mark = ?,
                    events_synced = events_synced + ?, batches_synced = batches_synced + ?,
                    bytes_received = bytes_received + ?, clock_offset_ms = ?, skewed = ?,
                    buffer_depth = ?, oldest_unsynced_ms = ?, last_seq = ?, used_bytes = ?, quota_bytes = ?,
                    agent_version = ?, last_error = NULL
                WHERE agent_id = ?
                """
        ).execute(arguments: [
            now, Int64(w.epoch), Int64(hwm), inserted, batch ? 1 : 0, frameBytes, clock.offsetMillis,
            clock.skewed ? 1 : 0, Int64(s.bufferDepth), s.oldestUnsyncedOccurredAtMs, Int64(s.lastSeq),
            Int64(s.usedBytes), Int64(s.quotaBytes), s.agentVersion, w.agentID,
        ])
    }

    /// Whether the customer of an arriving event is erased: under the id it carries, or, for an identifier stored
    /// unhashed (an agent without enrichment), under its keyed hash, which is all an erasure's tombstone holds.
    func isErased(_ customer: String, _ erased: Statement) throws -> Bool {
        if try Bool.fetchOne(erased, arguments: [customer]) == true { return true }
        guard let key = customerKey(for: customer) else { return false }
        return try Bool.fetchOne(erased, arguments: [key]) == true
    }

    /// Days since the Unix epoch (UTC), the first key of the customer index.
    static func day(_ millis: Int64) -> Int64 { millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000 }

    /// Applies the items above `above`; returns how many events were new.
    func apply(
        _ db: Database, _ batch: SyncBatch, _ rows: EventRows, store: String, above: UInt64, now: Int64,
        clock: ClockAssessment
    ) throws -> Int {
        let w = batch.wire
        let hasErasures = try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM erasures)")) ?? false
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO events (event_id, agent_id, epoch, seq, store_id, device_id, channel, type,
                    occurred_at, hlc, customer_id, journey_stage, score, sentiment, day, received_at, text, extra)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let erased = try db.cachedStatement(sql: "SELECT 1 FROM erasures WHERE subject = ?")
        var inserted = 0
        // The days of the new events that name a customer (`customer_days`): a batch spans a day or two.
        var customerDays: [Int64] = []
        // The hot loop binds through the C API, without copies: the values were prepared (`EventRows`) before
        // the transaction, and GRDB's generic arguments cost more than the insert itself.
        let s = insert.sqliteStatement
        try rows.bytes.withUnsafeBufferPointer { buffer in
            defer {
                sqlite3_reset(s)
                sqlite3_clear_bindings(s)
            }
            let row = SlotBinder(statement: s, base: buffer.baseAddress)
            sqlite3_reset(s)
            // Bindings survive sqlite3_reset: what is the same for the whole batch is bound once.
            row.text(2, copying: w.agentID)
            row.int(3, Int64(w.epoch))
            row.text(5, copying: store)
            row.int(16, now)
            for r in rows.rows where r.seq > above {
                if hasErasures, let customer = rows.customer(r, in: buffer), try isErased(customer, erased) {
                    continue
                }
                sqlite3_reset(s)
                row.blob(1, r.eventID)
                row.int(4, Int64(r.seq))
                row.text(6, r.device)
                row.text(7, r.channel)
                row.text(8, r.type)
                row.int(9, r.occurredAt)
                row.int(10, r.hlc)
                row.text(11, r.customer)
                row.text(12, r.journeyStage)
                row.double(13, r.score)
                row.double(14, r.sentiment)
                row.int(15, r.day)
                row.text(17, r.text)
                row.blob(18, r.extra)
                let rc = sqlite3_step(s)
                guard rc == SQLITE_DONE else {
                    throw DatabaseError(
                        resultCode: ResultCode(rawValue: rc),
                        message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                inserted += Int(sqlite3_changes(db.sqliteConnection))
                if r.customer.length >= 0 && !customerDays.contains(r.day) {
                    customerDays.append(r.day)
                }
            }
        }
        let day = try db.cachedStatement(sql: "INSERT OR IGNORE INTO customer_days (day) VALUES (?)")
        for d in customerDays { try day.execute(arguments: [d]) }
        // Profile and consent are keyed by customer, identity links join two (`AgentWriteScope`): an erased customer's
        // are dropped, as its events are (remove-wins: an agent offline at the erasure cannot bring them back), under
        // the key or an identifier stored unhashed, which are kept as sent so that they join that customer's events.
        func isErasedCustomer(_ id: String) throws -> Bool { try hasErasures && isErased(id, erased) }
        for u in w.lwwUpdates where u.seq > above {
            guard try !isErasedCustomer(u.key) else { continue }
            var u = u
            u.hlc = clock.corrected(raw: u.hlc)
            try mergeLWW(db, u)
        }
        for (i, a) in w.alertUpdates.enumerated() where a.seq > above {
            var a = a
            if a.storeID.isEmpty { a.storeID = w.storeID }
            if a.hasNote { a.note.hlc = clock.corrected(raw: a.note.hlc) }
            if a.hasAssignee { a.assignee.hlc = clock.corrected(raw: a.assignee.hlc) }
            a.raisedHlc = clock.corrected(raw: a.raisedHlc)
            try mergeAlert(db, a, now: now, agent: (w.agentID, store, "alert_updates[\(i)]"))
        }
        for l in w.identityLinks where l.seq > above {
            let (a, b) = l.a < l.b ? (l.a, l.b) : (l.b, l.a)
            guard a != b, try !isErasedCustomer(a), try !isErasedCustomer(b) else { continue }
            try db.execute(sql: "INSERT OR IGNORE INTO identity_links (a, b) VALUES (?, ?)", arguments: [a, b])
        }
        return inserted
    }
}
