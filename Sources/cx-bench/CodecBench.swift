import ArgumentParser
import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf

/// Bytes on the wire per event for 1,000-event batches: protobuf + zstd-3, with and without a dictionary.
struct CodecBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec", abstract: "Encoded bytes per event and encode/decode speed of sync batches.")

    @Option(help: "JSON-lines event file (the standard workload).")
    var events = "/tmp/cx_events_1m.jsonl"

    @Option(help: "Batches of --batch-size consecutive events, from the start of the file.")
    var batches = 200

    @Option(help: "Events per batch.")
    var batchSize = 1000

    @Option(help: "Dictionary training samples: single events from event 900,000 on (as the peer zstd bench).")
    var trainSamples = 20_000

    func run() async throws {
        let lines = try IngestBench.readLines(path: events, limit: 0)
        let validator = EventValidator()
        let decoder = JSONDecoder()
        func event(_ line: ArraySlice<UInt8>) throws -> Event {
            let incoming = try decoder.decode(IncomingEvent.self, from: Data(line))
            return try validator.validate(incoming, nowMillis: .max / 2).get()
        }
        let count = min(lines.count, batches * batchSize)
        var parsed: [Event] = []
        parsed.reserveCapacity(count)
        for line in lines[0..<count] { parsed.append(try event(line)) }
        let trainFrom = min(900_000, max(0, lines.count - trainSamples))
        let samples: [[UInt8]] = try lines[trainFrom..<min(lines.count, trainFrom + trainSamples)].map {
            try Cxsync_V1_Event(try event($0), seq: 1, batchStoreID: "").serializedBytes()
        }
        let dictionary = try ZstdDictionary.train(samples: samples, capacity: 110 * 1024)
        let key = AgentSigningKey()
        var plainBytes = 0
        var dictBytes = 0
        var rawBytes = 0
        var encodeTime = Duration.zero
        var decodeTime = Duration.zero
        let clock = ContinuousClock()
        let frameDecoder = FrameDecoder(dictionaries: [dictionary])
        for b in stride(from: 0, to: count, by: batchSize) {
            let slice = parsed[b..<min(count, b + batchSize)]
            let store = slice.first!.storeID
            var batch = Cxsync_V1_Batch()
            batch.agentID = "agent-bench"
            batch.epoch = 1
            batch.seqFrom = UInt64(b + 1)
            batch.seqTo = UInt64(b + slice.count)
            batch.storeID = store
            batch.events = slice.enumerated().map { Cxsync_V1_Event($0.element, seq: UInt64(b + 1 + $0.offset), batchStoreID: store) }
            let t0 = clock.now
            let raw: [UInt8] = try batch.serializedBytes()
            let plain = FrameEncoder(level: 3).frame(message: raw, kind: .batch, signer: ("agent-bench", key))
            encodeTime += clock.now - t0
            let withDict = FrameEncoder(level: 3, dictionary: dictionary).frame(message: raw, kind: .batch, signer: ("agent-bench", key))
            let t1 = clock.now
            _ = try frameDecoder.decodeBatch(plain, key: { _ in key.publicKey })
            decodeTime += clock.now - t1
            rawBytes += raw.count
            plainBytes += plain.count
            dictBytes += withDict.count
        }
        func secs(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        let result: [String: Any] = [
            "bench": "sync_codec", "events": count, "batch_size": batchSize,
            "protobuf_bytes_per_event": Double(rawBytes) / Double(count),
            "frame_zstd3_bytes_per_event": (Double(plainBytes) / Double(count) * 10).rounded() / 10,
            "frame_zstd3_dict_bytes_per_event": (Double(dictBytes) / Double(count) * 10).rounded() / 10,
            "dictionary_bytes": dictionary.bytes.count,
            "encode_events_per_s": Int(Double(count) / secs(encodeTime)),
            "decode_verify_events_per_s": Int(Double(count) / secs(decodeTime)),
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }
}
