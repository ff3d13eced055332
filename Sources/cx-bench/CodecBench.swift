import ArgumentParser
import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf

/// Bytes on the wire per event for 1,000-event batches, row form against column form, with and without a
/// trained dictionary, and where the column form's bytes go.
struct CodecBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec", abstract: "Encoded bytes per event and encode/decode speed of sync batches.")

    @Option(help: "JSON-lines event file (the standard workload).")
    var events = "/tmp/cx_events_1m.jsonl"

    @Option(help: "Batches of --batch-size consecutive events, from the start of the file.")
    var batches = 200

    @Option(help: "Events per batch.")
    var batchSize = 1000

    @Option(help: "Dictionary training samples: events from event 900,000 on (as the peer zstd bench).")
    var trainSamples = 20_000

    @Option(help: "Events per training sample of the column-form dictionary.")
    var trainBatchSize = 10

    @Option(help: "zstd level of the column form.")
    var level: Int32 = 3

    @Option(help: "HLCs: 'live' stamps events as an agent ingesting them in file order would; 'zero' leaves them 0.")
    var hlc = "live"

    func run() async throws {
        let lines = try IngestBench.readLines(path: events, limit: 0)
        let validator = EventValidator()
        let decoder = JSONDecoder()
        var clock = HLCTimestamp.zero
        func event(_ line: ArraySlice<UInt8>) throws -> Event {
            let incoming = try decoder.decode(IncomingEvent.self, from: Data(line))
            var e = try validator.validate(incoming, nowMillis: .max / 2).get()
            if hlc == "live" {
                clock =
                    e.occurredAt > clock.wallMillis
                    ? HLCTimestamp(wallMillis: e.occurredAt, counter: 0)
                    : HLCTimestamp(wallMillis: clock.wallMillis, counter: clock.counter + 1)
                e.hlc = clock
            }
            return e
        }
        let count = min(lines.count, batches * batchSize)
        var parsed: [Event] = []
        parsed.reserveCapacity(count)
        for line in lines[0..<count] { parsed.append(try event(line)) }
        let trainFrom = min(900_000, max(0, lines.count - trainSamples))
        let trainEvents = try lines[trainFrom..<min(lines.count, trainFrom + trainSamples)].map { try event($0) }
        let rowSamples: [[UInt8]] = try trainEvents.map {
            try Cxsync_V1_Event($0, seq: 1, batchStoreID: "").serializedBytes()
        }
        let rowDictionary = try ZstdDictionary.train(samples: rowSamples, capacity: 110 * 1024)
        let columnSamples: [[UInt8]] = try stride(from: 0, to: trainEvents.count, by: trainBatchSize).map { b in
            let slice = trainEvents[b..<min(trainEvents.count, b + trainBatchSize)]
            return try Self.batch(Array(slice), firstSeq: 1, columns: true).serializedBytes()
        }
        let columnDictionary = try ZstdDictionary.train(
            samples: columnSamples, capacity: 110 * 1024, level: level)

        let key = AgentSigningKey()
        let signer = ("agent-bench", key)
        var rowRaw = 0
        var rowPlain = 0
        var rowDict = 0
        var columnRaw = 0
        var columnPlain = 0
        var columnDict = 0
        var columnParts: [String: Int] = [:]
        var encodeTime = Duration.zero
        var decodeTime = Duration.zero
        var rowEncodeTime = Duration.zero
        var rowDecodeTime = Duration.zero
        let timer = ContinuousClock()
        let frameDecoder = FrameDecoder(dictionaries: [rowDictionary, columnDictionary])
        let columnEncoder = FrameEncoder(level: level, dictionary: columnDictionary)
        for b in stride(from: 0, to: count, by: batchSize) {
            let slice = Array(parsed[b..<min(count, b + batchSize)])
            let sequenced = slice.enumerated().map { SequencedEvent(seq: UInt64(b + 1 + $0.offset), event: $0.element) }

            var t0 = timer.now
            let rows: [UInt8] = try Self.batch(slice, firstSeq: UInt64(b + 1), columns: false).serializedBytes()
            let rowFrame = FrameEncoder(level: 3).frame(message: rows, kind: .batch, signer: signer)
            rowEncodeTime += timer.now - t0
            t0 = timer.now
            let rowDecoded = try frameDecoder.decodeBatch(rowFrame, key: { _ in key.publicKey })
            rowDecodeTime += timer.now - t0
            rowRaw += rows.count
            rowPlain += rowFrame.count
            rowDict +=
                FrameEncoder(level: 3, dictionary: rowDictionary).frame(
                    message: rows, kind: .batch, signer: signer
                ).count

            t0 = timer.now
            let columnBatch = Self.batch(slice, firstSeq: UInt64(b + 1), columns: true)
            let columns: [UInt8] = try columnBatch.serializedBytes()
            let columnFrame = columnEncoder.frame(message: columns, kind: .batch, signer: signer)
            encodeTime += timer.now - t0
            t0 = timer.now
            let columnDecoded = try frameDecoder.decodeBatch(columnFrame, key: { _ in key.publicKey })
            decodeTime += timer.now - t0
            guard columnDecoded.events == sequenced, rowDecoded.events == sequenced else {
                throw ValidationError("batch at \(b) does not round-trip")
            }
            columnRaw += columns.count
            columnDict += columnFrame.count
            columnPlain += FrameEncoder(level: level).frame(message: columns, kind: .batch, signer: signer).count
            for (name, bytes) in try Self.parts(of: columnBatch.eventColumns) {
                columnParts[name, default: 0] += Zstd.compress(bytes, level: level).count
            }
        }
        func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        func perEvent(_ n: Int) -> Double { (Double(n) / Double(count) * 100).rounded() / 100 }
        let result: [String: Any] = [
            "bench": "sync_codec", "events": count, "batch_size": batchSize, "hlc": hlc, "column_level": level,
            "protobuf_bytes_per_event": perEvent(rowRaw),
            "frame_zstd3_bytes_per_event": perEvent(rowPlain),
            "frame_zstd3_dict_bytes_per_event": perEvent(rowDict),
            "dictionary_bytes": rowDictionary.bytes.count,
            "encode_events_per_s": Int(Double(count) / secs(rowEncodeTime)),
            "decode_verify_events_per_s": Int(Double(count) / secs(rowDecodeTime)),
            "columns_protobuf_bytes_per_event": perEvent(columnRaw),
            "columns_frame_bytes_per_event": perEvent(columnPlain),
            "columns_frame_dict_bytes_per_event": perEvent(columnDict),
            "columns_dictionary_bytes": columnDictionary.bytes.count,
            "columns_encode_events_per_s": Int(Double(count) / secs(encodeTime)),
            "columns_decode_verify_events_per_s": Int(Double(count) / secs(decodeTime)),
            "columns_separately_compressed_bytes_per_event": columnParts.mapValues(perEvent),
        ]
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }

    static func batch(_ events: [Event], firstSeq: UInt64, columns: Bool) -> Cxsync_V1_Batch {
        var batch = Cxsync_V1_Batch()
        batch.agentID = "agent-bench"
        batch.epoch = 1
        batch.seqFrom = firstSeq
        batch.seqTo = firstSeq + UInt64(events.count) - 1
        batch.storeID = events.first?.storeID ?? ""
        let sequenced = events.enumerated().map { SequencedEvent(seq: firstSeq + UInt64($0.offset), event: $0.element) }
        if columns {
            batch.setEvents(sequenced)
        } else {
            batch.events = sequenced.map { Cxsync_V1_Event($0.event, seq: $0.seq, batchStoreID: batch.storeID) }
        }
        return batch
    }

    /// Each column serialised alone, so that its share of the compressed batch can be estimated.
    static func parts(of c: Cxsync_V1_EventColumns) throws -> [(String, [UInt8])] {
        func only(_ set: (inout Cxsync_V1_EventColumns) -> Void) throws -> [UInt8] {
            var part = Cxsync_V1_EventColumns()
            set(&part)
            return try part.serializedBytes()
        }
        return [
            ("event_ids", try only { $0.eventIds = c.eventIds }),
            ("texts", try only { $0.texts = c.texts }),
            ("text_lengths", try only { $0.textLengths = c.textLengths }),
            ("strings", try only { $0.strings = c.strings }),
            ("seq", try only { $0.seqDeltas = c.seqDeltas }),
            ("occurred_at", try only { $0.occurredAtDeltas = c.occurredAtDeltas }),
            (
                "hlc",
                try only {
                    $0.hlcSkewDeltas = c.hlcSkewDeltas; $0.hlcCounters = c.hlcCounters
                }
            ),
            ("store", try only { $0.store = c.store }),
            ("device", try only { $0.device = c.device }),
            ("customer", try only { $0.customer = c.customer }),
            (
                "enums",
                try only {
                    $0.channel = c.channel; $0.type = c.type; $0.journeyStage = c.journeyStage
                }
            ),
            ("presence", try only { $0.presence = c.presence }),
            (
                "scores",
                try only {
                    $0.scoreScale = c.scoreScale; $0.scoreMilli = c.scoreMilli
                }
            ),
            (
                "amounts",
                try only {
                    $0.amountMilli = c.amountMilli; $0.currency = c.currency
                }
            ),
            (
                "attributes",
                try only {
                    $0.attributeCounts = c.attributeCounts; $0.attributeKeys = c.attributeKeys
                    $0.attributeValues = c.attributeValues
                }
            ),
        ]
    }
}
