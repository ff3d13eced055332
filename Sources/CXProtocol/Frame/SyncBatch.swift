import CXCore

/// An event with its place in the sender's outbox.
public struct SequencedEvent: Sendable, Hashable {
    public var seq: UInt64
    public var event: Event

    public init(seq: UInt64, event: Event) {
        self.seq = seq
        self.event = event
    }
}

/// A batch that passed every check of PROTOCOL.md §6: safe to hand to a merge.
public struct SyncBatch: Sendable, Equatable {
    public var wire: Cxsync_V1_Batch
    public var events: [SequencedEvent]
    /// SHA-256 of the encoded batch: with `(agent_id, epoch, seq_from, seq_to)`, the idempotency key.
    public var contentHash: [UInt8]

    public var agentID: String { wire.agentID }
    public var epoch: UInt64 { wire.epoch }
    /// `0...0` for a poll.
    public var seqRange: ClosedRange<UInt64> { wire.seqFrom...wire.seqTo }
    /// A downstream-only poll (protocol 1.1): no items, nothing to merge, only the ack's downstream part.
    public var isPoll: Bool { wire.poll }
    /// The sender's buffer report (protocol 1.1), when it sent one.
    public var status: Cxsync_V1_AgentStatus? { wire.hasStatus ? wire.status : nil }
}

extension FrameDecoder {
    /// Opens, verifies and validates a batch frame. `key` looks up the enrolled public key of an agent id.
    public func decodeBatch(_ bytes: [UInt8], key: (String) -> AgentPublicKey?) throws(ProtocolError) -> SyncBatch {
        let (header, message) = try open(bytes, expecting: .batch, key: key)
        try WireShape.checkBatch(message, limits: limits)
        let wire = try decode(Cxsync_V1_Batch.self, from: message)
        return try validate(wire, header: header)
    }

    /// The semantic checks: identity, seq range, counts, and every item's fields.
    public func validate(_ b: Cxsync_V1_Batch, header: FrameHeader) throws(ProtocolError) -> SyncBatch {
        guard b.agentID == header.keyID else {
            throw ProtocolError(
                .identityMismatch, "batch names agent '\(b.agentID)' but is signed by '\(header.keyID)'")
        }
        guard b.epoch > 0 else { throw ProtocolError(.invalidField, "epoch must be at least 1") }
        let counters = [
            ("epoch", b.epoch), ("seq_from", b.seqFrom), ("seq_to", b.seqTo), ("downstream_cursor", b.downstreamCursor),
        ]
        try Self.fitStorage(counters, prefix: "")
        if b.poll {
            guard b.seqFrom == 0, b.seqTo == 0 else {
                throw ProtocolError(.invalidSeqRange, "a poll has seq range 0...0, got \(b.seqFrom)...\(b.seqTo)")
            }
        } else {
            guard b.seqFrom >= 1, b.seqFrom <= b.seqTo else {
                throw ProtocolError(.invalidSeqRange, "seq range \(b.seqFrom)...\(b.seqTo) is empty or starts below 1")
            }
        }
        guard !b.storeID.isEmpty, b.storeID.utf8.count <= limits.event.maxIdentifierLength else {
            throw ProtocolError(.invalidField, "store_id is empty or longer than \(limits.event.maxIdentifierLength)")
        }
        if b.hasStatus {
            try validate(b.status)
        }
        if b.poll {
            let items =
                b.events.count + (b.hasEventColumns ? max(Int(b.eventColumns.count), 1) : 0) + b.lwwUpdates.count
                + b.alertUpdates.count + b.erasures.count
                + b.identityLinks.count
            guard items == 0 else {
                throw ProtocolError(.invalidField, "poll: a poll carries no items, this one has \(items)")
            }
            return SyncBatch(wire: b, events: [], contentHash: header.contentHash)
        }
        guard b.events.count <= limits.maxEventsPerBatch else {
            throw ProtocolError(
                .tooManyItems, "\(b.events.count) events exceed the limit of \(limits.maxEventsPerBatch)")
        }
        let stateItems = b.lwwUpdates.count + b.alertUpdates.count + b.erasures.count + b.identityLinks.count
        guard stateItems <= limits.maxStateItemsPerBatch else {
            throw ProtocolError(
                .tooManyItems, "\(stateItems) state items exceed the limit of \(limits.maxStateItemsPerBatch)")
        }
        let range = b.seqFrom...b.seqTo
        var seen = Set<UInt64>()
        func place(_ seq: UInt64, _ what: String) throws(ProtocolError) {
            guard range.contains(seq) else {
                throw ProtocolError(.invalidSeqRange, "\(what) has seq \(seq) outside \(b.seqFrom)...\(b.seqTo)")
            }
            guard seen.insert(seq).inserted else {
                throw ProtocolError(.invalidSeqRange, "\(what) repeats seq \(seq)")
            }
        }
        var events: [SequencedEvent]
        if b.hasEventColumns {
            guard b.events.isEmpty else {
                throw ProtocolError(.invalidField, "events and event_columns are both present; a batch uses one form")
            }
            events = try b.eventColumns.events(seqFrom: b.seqFrom, batchStoreID: b.storeID, limits: limits)
            for (i, e) in events.enumerated() { try place(e.seq, "events[\(i)]") }
        } else {
            events = []
            events.reserveCapacity(b.events.count)
            for (i, w) in b.events.enumerated() {
                try place(w.seq, "events[\(i)]")
                events.append(
                    SequencedEvent(
                        seq: w.seq, event: try Event(wire: w, batchStoreID: b.storeID, limits: limits, index: i)))
            }
        }
        for (i, u) in b.lwwUpdates.enumerated() {
            try place(u.seq, "lww_updates[\(i)]")
            guard !u.collection.isEmpty, !u.key.isEmpty, !u.field.isEmpty, !u.node.isEmpty else {
                throw ProtocolError(.invalidField, "lww_updates[\(i)]: collection, key, field and node are required")
            }
            guard [u.collection, u.key, u.field, u.node].allSatisfy({ $0.utf8.count <= 256 }),
                (u.hasValue ? u.value.utf8.count : 0) <= limits.event.maxTextLength
            else {
                throw ProtocolError(.stringTooLong, "lww_updates[\(i)]: a string exceeds its limit")
            }
        }
        for (i, a) in b.alertUpdates.enumerated() {
            try place(a.seq, "alert_updates[\(i)]")
            guard !a.alertID.isEmpty, AlertStatus(a.status) != nil else {
                throw ProtocolError(.invalidField, "alert_updates[\(i)]: alert_id and a known status are required")
            }
            try validateStrings(of: a, index: i)
        }
        for (i, e) in b.erasures.enumerated() {
            try place(e.seq, "erasures[\(i)]")
            guard !e.subject.isEmpty, e.subject.utf8.count <= 256 else {
                throw ProtocolError(.invalidField, "erasures[\(i)]: subject must be 1 to 256 bytes")
            }
        }
        for (i, l) in b.identityLinks.enumerated() {
            try place(l.seq, "identity_links[\(i)]")
            guard !l.a.isEmpty, !l.b.isEmpty, l.a.utf8.count <= 256, l.b.utf8.count <= 256 else {
                throw ProtocolError(.invalidField, "identity_links[\(i)]: a and b must be 1 to 256 bytes")
            }
        }
        return SyncBatch(wire: b, events: events, contentHash: header.contentHash)
    }

    /// Alert strings are stored and shown at the hub, so each is bounded like its event counterpart.
    private func validateStrings(of a: Cxsync_V1_AlertUpdate, index i: Int) throws(ProtocolError) {
        let text = limits.event.maxTextLength
        let id = limits.event.maxIdentifierLength
        var fields: [(String, String, Int)] = [
            ("alert_id", a.alertID, 256), ("rule", a.rule, 256), ("severity", a.severity, 64),
            ("store_id", a.storeID, id), ("summary", a.summary, text),
        ]
        if a.hasNote { fields += [("note.value", a.note.value, text), ("note.node", a.note.node, 256)] }
        if a.hasAssignee {
            fields += [("assignee.value", a.assignee.value, 256), ("assignee.node", a.assignee.node, 256)]
        }
        for (name, value, max) in fields where value.utf8.count > max {
            throw ProtocolError(
                .stringTooLong, "alert_updates[\(i)].\(name): \(value.utf8.count) bytes, longer than \(max)")
        }
    }

    private func validate(_ s: Cxsync_V1_AgentStatus) throws(ProtocolError) {
        guard s.agentVersion.utf8.count <= 64 else {
            throw ProtocolError(
                .stringTooLong, "status.agent_version: \(s.agentVersion.utf8.count) bytes, longer than 64")
        }
        // 0 (nothing unsynced) or an event time the decoder accepts: the hub adds it to a clock offset
        guard s.oldestUnsyncedOccurredAtMs == 0 || Event.occurredAtRange.contains(s.oldestUnsyncedOccurredAtMs) else {
            throw ProtocolError(
                .invalidField,
                "status.oldest_unsynced_occurred_at_ms: \(s.oldestUnsyncedOccurredAtMs) is outside the range of event times"
            )
        }
        let counters = [
            ("buffer_depth", s.bufferDepth), ("last_seq", s.lastSeq), ("used_bytes", s.usedBytes),
            ("quota_bytes", s.quotaBytes),
        ]
        try Self.fitStorage(counters, prefix: "status.")
    }

    /// Counters a receiver stores as SQLite's signed 64-bit integers (PROTOCOL.md §6.2): a value above 2^63 - 1 would
    /// not convert, and a hub that trapped on one would go down for the whole fleet at one agent's frame.
    static func fitStorage(_ counters: [(String, UInt64)], prefix: String) throws(ProtocolError) {
        for (name, value) in counters where value > UInt64(Int64.max) {
            throw ProtocolError(.invalidField, "\(prefix)\(name): \(value) is above the largest value, 2^63 - 1")
        }
    }
}
