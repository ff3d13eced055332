import CXCore
import CXProtocol
import Foundation
import GRDB
import GRDBSQLite

/// A batch's events as the values of their `events` rows, prepared before the merge transaction.
///
/// The merge transaction is the hub's one serial section: everything that does not need the database (the
/// corrected HLC, the day, the `extra` blob, the UTF-8 of every text column) is done here, on the task that
/// decoded the batch and in parallel with other batches, so the writer only binds pointers and steps.
struct EventRows: Sendable {
    /// Where a text or blob value sits in `bytes`; `length < 0` is NULL.
    struct Slot: Sendable {
        var offset: Int32
        var length: Int32
        static let null = Slot(offset: 0, length: -1)
    }

    struct Row: Sendable {
        var seq: UInt64
        var occurredAt: Int64
        var hlc: Int64
        var day: Int64
        var score: Double?
        var sentiment: Double?
        var eventID: Slot
        var device: Slot
        var channel: Slot
        var type: Slot
        var customer: Slot
        var journeyStage: Slot
        var text: Slot
        var extra: Slot
    }

    var rows: [Row]
    var bytes: [UInt8]

    init(_ events: [SequencedEvent], clock: ClockAssessment) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.count * 160)
        func put<Bytes: Collection<UInt8>>(_ b: Bytes?) -> Slot {
            guard let b else { return .null }
            let start = bytes.count
            bytes.append(contentsOf: b)
            return Slot(offset: Int32(start), length: Int32(bytes.count - start))
        }
        var rows: [Row] = []
        rows.reserveCapacity(events.count)
        for item in events {
            let e = item.event
            rows.append(
                Row(
                    seq: item.seq, occurredAt: e.occurredAt, hlc: Int64(bitPattern: clock.corrected(e.hlc).rawValue),
                    day: HubStore.day(e.occurredAt), score: e.score?.value, sentiment: e.enrichment?.sentiment.compound,
                    eventID: withUnsafeBytes(of: e.eventID.uuid) { put($0) }, device: put(e.deviceID.utf8),
                    channel: put(e.channel.rawValue.utf8), type: put(e.type.rawValue.utf8),
                    customer: put(e.customerID?.utf8), journeyStage: put(e.journeyStage?.rawValue.utf8),
                    text: put(e.text?.utf8), extra: put(EventPayloadEncoder.extra(e))))
        }
        self.rows = rows
        self.bytes = bytes
    }

    /// The customer identifier of `row`, for the erasure check (only when the hub holds erasures).
    func customer(_ row: Row, in buffer: UnsafeBufferPointer<UInt8>) -> String? {
        guard row.customer.length >= 0 else { return nil }
        let start = Int(row.customer.offset)
        return String(decoding: buffer[start..<start + Int(row.customer.length)], as: UTF8.self)
    }
}

/// Binds the values of the events insert through SQLite's C API: slots of an `EventRows` buffer without copying
/// (SQLITE_STATIC), valid only while the buffer is borrowed, so the caller clears the bindings before it lets go.
struct SlotBinder {
    let statement: OpaquePointer?
    let base: UnsafePointer<UInt8>?
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func text(_ i: Int32, _ s: EventRows.Slot) {
        guard s.length >= 0, let base else {
            sqlite3_bind_null(statement, i)
            return
        }
        (base + Int(s.offset)).withMemoryRebound(to: CChar.self, capacity: Int(s.length)) {
            _ = sqlite3_bind_text(statement, i, $0, s.length, nil)
        }
    }

    /// A string that is not in the buffer (the same for the whole batch), copied by SQLite.
    func text(_ i: Int32, copying s: String) {
        s.withCString { _ = sqlite3_bind_text(statement, i, $0, -1, Self.transient) }
    }

    func blob(_ i: Int32, _ s: EventRows.Slot) {
        guard s.length >= 0, let base else {
            sqlite3_bind_null(statement, i)
            return
        }
        sqlite3_bind_blob(statement, i, base + Int(s.offset), s.length, nil)
    }

    func int(_ i: Int32, _ v: Int64) { sqlite3_bind_int64(statement, i, v) }

    func double(_ i: Int32, _ v: Double?) {
        guard let v else {
            sqlite3_bind_null(statement, i)
            return
        }
        sqlite3_bind_double(statement, i, v)
    }
}
