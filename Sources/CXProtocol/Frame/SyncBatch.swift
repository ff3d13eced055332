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
    public var seqRange: ClosedRange<UInt64> { wire.seqFrom...wire.seqTo }
}

extension FrameDecoder {
    /// Opens, verifies and validates a batch frame. `key` looks up the enrolled public key of an agent id.
    public func decodeBatch(_ bytes: [UInt8], key: (String) -> AgentPublicKey?) throws(ProtocolError) -> SyncBatch {
        let (header, message) = try open(bytes, expecting: .batch, key: key)
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
        guard b.seqFrom >= 1, b.seqFrom <= b.seqTo else {
            throw ProtocolError(.invalidSeqRange, "seq range \(b.seqFrom)...\(b.seqTo) is empty or starts below 1")
        }
        guard !b.storeID.isEmpty, b.storeID.utf8.count <= limits.event.maxIdentifierLength else {
            throw ProtocolError(.invalidField, "store_id is empty or longer than \(limits.event.maxIdentifierLength)")
        }
        guard b.events.count <= limits.maxEventsPerBatch else {
            throw ProtocolError(.tooManyItems, "\(b.events.count) events exceed the limit of \(limits.maxEventsPerBatch)")
        }
        let stateItems = b.lwwUpdates.count + b.alertUpdates.count + b.erasures.count + b.identityLinks.count
        guard stateItems <= limits.maxStateItemsPerBatch else {
            throw ProtocolError(.tooManyItems, "\(stateItems) state items exceed the limit of \(limits.maxStateItemsPerBatch)")
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
        var events: [SequencedEvent] = []
        events.reserveCapacity(b.events.count)
        for (i, w) in b.events.enumerated() {
            try place(w.seq, "events[\(i)]")
            events.append(SequencedEvent(seq: w.seq, event: try Event(wire: w, batchStoreID: b.storeID, limits: limits, index: i)))
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
}
