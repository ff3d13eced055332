import ArgumentParser
import CXCore
import CXHub
import CXProtocol
import Foundation
import Logging

/// Hub merge rate: the standard workload as signed 1,000-event batches from one agent per store, through the
/// hub's sync endpoint (header checks, signature, bounded decoding, one merge transaction with
/// `synchronous=FULL` per batch) into a fresh SQLite hub database.
struct HubMergeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub-merge", abstract: "Merge the standard workload into a hub database; events/s.")

    @Option(help: "JSON lines from gen_events.py.") var events: String = "/tmp/cx_events_1m.jsonl"
    @Option(help: "Events to merge (0: all).") var limit: Int = 0
    @Option(help: "Events per batch.") var batchSize: Int = 1000
    @Option(help: "Concurrent senders (decoding runs in parallel; merges serialize on the writer).")
    var concurrency: Int = 4
    @Option(help: "Where the hub database is created (removed afterwards).") var directory: String = "/tmp/cx-hub-bench"

    func run() async throws {
        let lines = try IngestBench.readLines(path: events, limit: limit)
        let validator = EventValidator()
        let decoder = JSONDecoder()
        var byStore: [String: [Event]] = [:]
        var clock = HLCTimestamp.zero
        for line in lines {
            var e = try validator.validate(
                try decoder.decode(IncomingEvent.self, from: Data(line)), nowMillis: .max / 2
            )
            .get()
            clock =
                e.occurredAt > clock.wallMillis
                ? HLCTimestamp(wallMillis: e.occurredAt, counter: 0)
                : HLCTimestamp(wallMillis: clock.wallMillis, counter: clock.counter &+ 1)
            e.hlc = clock
            byStore[e.storeID, default: []].append(e)
        }
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try HubStore.open(path: directory + "/hub.sqlite")
        var frames: [[[UInt8]]] = []
        var agents: [(String, AgentSigningKey)] = []
        let encoder = FrameEncoder()
        for (storeID, list) in byStore.sorted(by: { $0.key < $1.key }) {
            let agentID = "bench-\(storeID)"
            let key = AgentSigningKey()
            let token = try store.issueEnrollmentToken(store: storeID, device: "bench", ttl: .seconds(3600))
            _ = try await store.enroll(token: token.token, agentID: agentID, publicKey: key.publicKey.rawRepresentation)
            agents.append((agentID, key))
            var seq: UInt64 = 1
            var own: [[UInt8]] = []
            for chunk in stride(from: 0, to: list.count, by: batchSize) {
                let part = list[chunk..<min(list.count, chunk + batchSize)]
                var b = Cxsync_V1_Batch()
                b.agentID = agentID
                b.epoch = 1
                b.storeID = storeID
                b.seqFrom = seq
                b.seqTo = seq + UInt64(part.count) - 1
                b.sentHlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
                b.setEvents(part.enumerated().map { SequencedEvent(seq: seq + UInt64($0.offset), event: $0.element) })
                seq += UInt64(part.count)
                own.append(encoder.frame(b, kind: .batch, signer: (agentID, key)))
            }
            frames.append(own)
        }
        // Each lane plays whole agents (an agent's batches are sequential); lanes interleave as a hub sees them.
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let endpoint = SyncEndpoint(store: store, policy: MergePolicy(maxDriftMillis: .max / 4), logger: logger)
        let total = byStore.values.reduce(0) { $0 + $1.count }
        let bytes = frames.joined().reduce(0) { $0 + $1.count }
        let work = frames
        let keys = Dictionary(uniqueKeysWithValues: agents.map { ($0.0, $0.1.publicKey) })
        let decodeStart = ContinuousClock.now
        let frameDecoder = FrameDecoder()
        for f in work.joined() { _ = try frameDecoder.decodeBatch(f) { keys[$0] } }
        let decodeElapsed = ContinuousClock.now - decodeStart
        let lanes = max(1, concurrency)
        let start = ContinuousClock.now
        let refused = try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var bad = 0
                    for i in stride(from: lane, to: work.count, by: lanes) {
                        for frame in work[i] {
                            let reply = await endpoint.handle(frame)
                            if reply.status != 200 { bad += 1 }
                        }
                    }
                    return bad
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let merged = try await store.eventTotal()
        try store.close()
        let result: [String: Any] = [
            "bench": "hub-merge", "events": total, "merged": merged, "batches": frames.joined().count,
            "decode_only_events_per_s": Int(
                Double(total)
                    / (Double(decodeElapsed.components.seconds) + Double(decodeElapsed.components.attoseconds) / 1e18)),
            "refused": refused,
            "seconds": (seconds * 1000).rounded() / 1000, "events_per_s": Int(Double(total) / seconds),
            "frame_bytes_per_event": (Double(bytes) / Double(total) * 10).rounded() / 10, "concurrency": lanes,
        ]
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        if refused > 0 || merged != Int64(total) {
            throw ValidationError("merge incomplete: \(refused) batches refused, \(merged) of \(total) events merged")
        }
    }
}
