import CXCore
import CXInsight
import CXProtocol
import Foundation
import GRDB
import SwiftProtobuf

extension HubStore {
    /// Joins one LWW write into its register; config changes also enter the downstream stream.
    func mergeLWW(_ db: Database, _ u: Cxsync_V1_LWWUpdate) throws {
        let incoming = LWWRegister<LWWEntry<String>>(
            u.hasValue ? .value(u.value) : .removed, stamp: LWWStamp(hlc: HLCTimestamp(rawValue: u.hlc), node: u.node))
        if let row = try Row.fetchOne(
            db, sql: "SELECT value, hlc, node FROM lww WHERE collection = ? AND key = ? AND field = ?",
            arguments: [u.collection, u.key, u.field])
        {
            let value: String? = row["value"]
            var current = LWWRegister<LWWEntry<String>>(
                value.map(LWWEntry.value) ?? .removed,
                stamp: LWWStamp(hlc: HLCTimestamp(rawValue: UInt64(bitPattern: row["hlc"] as Int64)), node: row["node"])
            )
            guard current.assign(incoming.value, stamp: incoming.stamp) else { return }
        }
        try db.execute(
            sql: """
                INSERT INTO lww (collection, key, field, value, hlc, node) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(collection, key, field) DO UPDATE SET value = excluded.value, hlc = excluded.hlc,
                    node = excluded.node
                """,
            arguments: [u.collection, u.key, u.field, u.hasValue ? u.value : nil, Int64(bitPattern: u.hlc), u.node])
        if u.collection == "config" {
            var d = u
            d.seq = 0
            try appendDownstream(db, kind: "config", store: u.key == "*" ? nil : u.key, d)
        }
    }

    /// Joins an alert's replicated state (status lattice, LWW note and assignee); a change enters downstream. With
    /// `agent`, an update from that agent's batch: an alert the hub holds for another store is not its to change
    /// (`store_mismatch`, which rolls the batch back), whatever store id the update names.
    func mergeAlert(
        _ db: Database, _ a: Cxsync_V1_AlertUpdate, now: Int64, agent: (id: String, store: String, item: String)? = nil
    ) throws {
        func register(_ s: Cxsync_V1_LWWString, present: Bool) -> LWWRegister<String>? {
            present ? LWWRegister(s.value, stamp: LWWStamp(hlc: HLCTimestamp(rawValue: s.hlc), node: s.node)) : nil
        }
        let incoming = AlertState(
            status: AlertStatus(a.status) ?? .open, note: register(a.note, present: a.hasNote),
            assignee: register(a.assignee, present: a.hasAssignee))
        var merged = incoming
        var existing: Row?
        if let row = try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE alert_id = ?", arguments: [a.alertID]) {
            if let agent, let owner = row["store_id"] as String?, owner != agent.store {
                throw HubError(
                    "store_mismatch",
                    "\(agent.item): alert '\(a.alertID)' belongs to store '\(owner)'; agent '\(agent.id)' may write only '\(agent.store)'",
                    status: 403)
            }
            existing = row
            var current = Self.alertState(row)
            let before = current
            current.merge(incoming)
            guard current != before else { return }
            merged = current
        }
        func stamp(_ r: LWWRegister<String>?) -> (String?, Int64?, String?) {
            guard let r else { return (nil, nil, nil) }
            return (r.value, Int64(bitPattern: r.stamp.hlc.rawValue), r.stamp.node)
        }
        let (note, noteHLC, noteNode) = stamp(merged.note)
        let (assignee, assigneeHLC, assigneeNode) = stamp(merged.assignee)
        let store = existing?["store_id"] as String? ?? a.storeID
        let rule = existing?["rule"] as String? ?? a.rule
        let severity = existing?["severity"] as String? ?? a.severity
        let summary = existing?["summary"] as String? ?? a.summary
        let raised = existing.map { $0["raised_hlc"] as Int64 } ?? Int64(bitPattern: a.raisedHlc)
        try db.execute(
            sql: """
                INSERT INTO alerts (alert_id, store_id, rule, severity, summary, raised_hlc, status, note, note_hlc,
                    note_node, assignee, assignee_hlc, assignee_node, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(alert_id) DO UPDATE SET status = excluded.status, note = excluded.note,
                    note_hlc = excluded.note_hlc, note_node = excluded.note_node, assignee = excluded.assignee,
                    assignee_hlc = excluded.assignee_hlc, assignee_node = excluded.assignee_node,
                    updated_at = excluded.updated_at
                """,
            arguments: [
                a.alertID, store, rule, severity, summary, raised, merged.status.value.rawValue, note, noteHLC,
                noteNode, assignee, assigneeHLC, assigneeNode, now,
            ])
        var d = Self.alertUpdate(
            id: a.alertID, state: merged, store: store, rule: rule, severity: severity, summary: summary,
            raised: UInt64(bitPattern: raised))
        d.seq = 0
        try appendDownstream(db, kind: "alert", store: store, d)
    }

    static func alertState(_ row: Row) -> AlertState {
        func register(_ v: String?, _ h: Int64?, _ n: String?) -> LWWRegister<String>? {
            guard let v, let h, let n else { return nil }
            return LWWRegister(v, stamp: LWWStamp(hlc: HLCTimestamp(rawValue: UInt64(bitPattern: h)), node: n))
        }
        return AlertState(
            status: AlertStatus(rawValue: Int(row["status"] as Int64)) ?? .open,
            note: register(row["note"], row["note_hlc"], row["note_node"]),
            assignee: register(row["assignee"], row["assignee_hlc"], row["assignee_node"]))
    }

    static func alertUpdate(
        id: String, state: AlertState, store: String, rule: String, severity: String, summary: String, raised: UInt64
    ) -> Cxsync_V1_AlertUpdate {
        var d = Cxsync_V1_AlertUpdate()
        d.alertID = id
        d.status = Cxsync_V1_AlertStatus(state.status.value)
        func wire(_ r: LWWRegister<String>) -> Cxsync_V1_LWWString {
            var s = Cxsync_V1_LWWString()
            s.value = r.value
            s.hlc = r.stamp.hlc.rawValue
            s.node = r.stamp.node
            return s
        }
        if let n = state.note { d.note = wire(n) }
        if let a = state.assignee { d.assignee = wire(a) }
        d.rule = rule
        d.severity = severity
        d.storeID = store
        d.summary = summary
        d.raisedHlc = raised
        return d
    }

    /// A CX lead's erasure request: the tombstone is recorded, the subject's data deleted at the hub, and the
    /// erasure sent to every agent. Returns how many events were deleted here.
    ///
    /// `unhashed` is the identifier that `subject`, its keyed hash, was made from: agents that run without
    /// enrichment store events under it, and those are deleted too. The tombstone, kept forever and sent to every
    /// store, holds only the hash (PROTOCOL.md §8.5); later events under the identifier are known by their hash
    /// (`isErased`). Only this spelling of the identifier is deleted here; other spellings of it stored unhashed stay.
    public func erase(subject: String, unhashed: String? = nil) async throws -> Int {
        let hlc = tick()
        var e = Cxsync_V1_Erasure()
        e.subject = subject
        e.hlc = hlc.rawValue
        let erasure = e
        return try await pool.write { db in
            let deleted = try self.mergeErasure(db, erasure)
            guard let unhashed, unhashed != subject else { return deleted }
            return deleted + (try Self.deleteCustomer(db, unhashed))
        }
    }

    /// Records a remove-wins tombstone and deletes what the hub holds of the subject; kept forever. Returns how
    /// many events were deleted (0 when the tombstone was already there).
    @discardableResult
    func mergeErasure(_ db: Database, _ e: Cxsync_V1_Erasure) throws -> Int {
        try db.execute(
            sql: "INSERT OR IGNORE INTO erasures (subject, hlc) VALUES (?, ?)",
            arguments: [e.subject, Int64(bitPattern: e.hlc)])
        guard db.changesCount > 0 else { return 0 }
        let deleted = try Self.deleteCustomer(db, e.subject)
        var d = e
        d.seq = 0
        try appendDownstream(db, kind: "erasure", store: nil, d)
        return deleted
    }

    /// Replaces the tombstones that hubs before 7936a9e recorded under raw identifiers (beside their hash) by their
    /// hash, recorded and sent on as any erasure if it is missing, and takes the raw ones out of `erasures` and of the
    /// downstream stream, so that agents enrolled from now on never receive them (those that did keep them). Runs
    /// when the hub opens; nothing to do after the first time. Returns how many raw tombstones went.
    @discardableResult
    func hashRawTombstones(_ db: Database) throws -> Int {
        guard let hasher = identifierHasher else { return 0 }
        var raw = Set<String>()
        // Keys (32 lowercase hex digits, nearly all tombstones) are left in the table: this runs at every open.
        let candidates =
            "SELECT subject, hlc FROM erasures WHERE NOT (length(subject) = 32 AND subject NOT GLOB '*[^0-9a-f]*')"
        for row in try Row.fetchAll(db, sql: candidates) {
            let subject: String = row[0]
            guard CustomerKey.halves(subject) == nil, let key = hasher.hash(subject) else { continue }
            var e = Cxsync_V1_Erasure()
            e.subject = key
            e.hlc = UInt64(bitPattern: row[1])
            try mergeErasure(db, e)
            raw.insert(subject)
        }
        guard !raw.isEmpty else { return 0 }
        for subject in raw { try db.execute(sql: "DELETE FROM erasures WHERE subject = ?", arguments: [subject]) }
        for row in try Row.fetchAll(db, sql: "SELECT cursor, payload FROM downstream WHERE kind = 'erasure'") {
            let e = try Cxsync_V1_Erasure(serializedBytes: row[1] as Data)
            if raw.contains(e.subject) {
                try db.execute(sql: "DELETE FROM downstream WHERE cursor = ?", arguments: [row[0] as Int64])
            }
        }
        return raw.count
    }

    /// Deletes what the hub holds under the customer `id`: events, LWW entries, identity links. Returns how many
    /// events went.
    static func deleteCustomer(_ db: Database, _ id: String) throws -> Int {
        // Through the customer index, one seek per (store, day): this runs inside a merge transaction, and a
        // scan of every event would hold the hub's only writer for as long as the table is big.
        try db.cachedStatement(
            sql: """
                WITH RECURSIVE \(Self.customerStoresAndDaysCTE)
                DELETE FROM events
                WHERE store_id IN (SELECT s FROM stores WHERE s IS NOT NULL) AND day IN (SELECT d FROM days)
                    AND customer_id = ?1
                """
        ).execute(arguments: [id])
        let deleted = db.changesCount
        // Only the customer's own registers: the hub's settings (`config`, `theme_owner`) are keyed by a store or
        // "*", and `cx erase '*'` must not delete the fleet's settings.
        try db.execute(
            sql: "DELETE FROM lww WHERE collection IN ('profile', 'consent') AND key = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM identity_links WHERE a = ? OR b = ?", arguments: [id, id])
        return deleted
    }

    func appendDownstream(_ db: Database, kind: String, store: String?, _ message: some SwiftProtobuf.Message) throws {
        let payload: Data = try message.serializedData()
        try db.execute(
            sql: "INSERT INTO downstream (kind, store_id, payload) VALUES (?, ?, ?)", arguments: [kind, store, payload])
    }

    /// The most payload bytes one ack carries downstream (its items stop before the one that passes it).
    static let maxDownstreamBytes = 1 << 20

    /// The changes after `cursor` that concern `store`, at most `limit` of them (and `maxDownstreamBytes`).
    func downstream(_ db: Database, after cursor: UInt64, store: String, limit: Int) throws -> Cxsync_V1_Downstream {
        var d = Cxsync_V1_Downstream()
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT cursor, kind, payload FROM downstream
                    WHERE cursor > ? AND (store_id IS NULL OR store_id = ?) ORDER BY cursor LIMIT ?
                    """), arguments: [Int64(cursor), store, limit + 1])
        var more = rows.count > limit
        var last = cursor
        var bytes = 0
        for (i, row) in rows.prefix(limit).enumerated() {
            let payload = row["payload"] as Data
            // Bounded in bytes too: 500 items of a 4 KiB note or setting would make an ack far above a frame's size.
            bytes += payload.count
            if i > 0 && bytes > Self.maxDownstreamBytes {
                more = true
                break
            }
            switch row["kind"] as String {
            case "config": d.config.append(try Cxsync_V1_LWWUpdate(serializedBytes: payload))
            case "alert": d.alerts.append(try Cxsync_V1_AlertUpdate(serializedBytes: payload))
            case "erasure": d.erasures.append(try Cxsync_V1_Erasure(serializedBytes: payload))
            default: break
            }
            last = UInt64(row["cursor"] as Int64)
        }
        if !more {
            // Nothing further concerns this store: skip past other stores' items so they are not scanned again.
            let top = UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(cursor) FROM downstream")) ?? 0)
            last = max(last, top)
        }
        d.cursor = last
        d.more = more
        return d
    }
}

// MARK: - Changes made at the hub

extension HubStore {
    /// Sets a configuration value at the hub for every agent (`scope` "*") or one store; it reaches agents downstream.
    ///
    /// Stamped after the value it replaces (HLC receive rule): that stamp may be ahead of the hub's clock (a hub
    /// restarted after a crash resumes from the clock it last saved), and a write stamped below it was answered "ok"
    /// and lost.
    public func setConfig(scope: String, name: String, value: String?) async throws {
        try await pool.write { db in
            if let stored = try Int64.fetchOne(
                db, sql: "SELECT hlc FROM lww WHERE collection = 'config' AND key = ? AND field = ?",
                arguments: [scope, name])
            {
                self.observe(HLCTimestamp(rawValue: UInt64(bitPattern: stored)))
            }
            var u = Cxsync_V1_LWWUpdate()
            u.collection = "config"
            u.key = scope
            u.field = name
            if let value { u.value = value }
            u.hlc = self.tick().rawValue
            u.node = self.node
            try self.mergeLWW(db, u)
        }
    }

    /// Moves an alert forward (acknowledged, resolved) with an optional note and assignee, as a CX lead at the hub.
    ///
    /// A note or assignee is stamped after the one it replaces, as `setConfig` is: a store's note may carry a stamp
    /// ahead of the hub's clock (within the allowed drift), and the lead's later note lost to it while answered "ok".
    public func updateAlert(id: String, status: AlertStatus?, note: String?, assignee: String?) async throws(HubError) {
        do {
            try await pool.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE alert_id = ?", arguments: [id])
                else {
                    throw HubError("not_found", "no alert '\(id)' at this hub", status: 404)
                }
                for column in ["note_hlc", "assignee_hlc"] {
                    if let stored = row[column] as Int64? {
                        self.observe(HLCTimestamp(rawValue: UInt64(bitPattern: stored)))
                    }
                }
                let hlc = self.tick()
                var state = Self.alertState(row)
                if let status { state.status.merge(MaxRegister(status)) }
                let stamp = LWWStamp(hlc: hlc, node: self.node)
                if let note { state.note.merge(LWWRegister(note, stamp: stamp)) }
                if let assignee { state.assignee.merge(LWWRegister(assignee, stamp: stamp)) }
                let update = Self.alertUpdate(
                    id: id, state: state, store: row["store_id"], rule: row["rule"], severity: row["severity"],
                    summary: row["summary"], raised: UInt64(bitPattern: row["raised_hlc"] as Int64))
                try self.mergeAlert(db, update, now: Self.nowMillis())
            }
        } catch let e as HubError {
            throw e
        } catch {
            throw HubError.internal("alert update failed", error)
        }
    }
}
