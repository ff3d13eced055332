import ArgumentParser
import CXAgent
import CXCore
import CXInsight
import CXProtocol
import Foundation
import Logging
import Synchronization

/// `cx-bench enrich-path`: time per event of the agent's enrichment path, stage by stage, on one thread.
///
/// The ingest benchmark measures what enrichment costs end to end, but on two cores shared with the producers
/// it is too noisy to tell which part of the path a change helped. This runs the same code as the agent
/// (`EventEnricher.enrich` on requests of 100 events, then the stored payload's encoding) without the network
/// and the database, and reports microseconds per event for each stage (pin it to one CPU, as
/// `bench/insight.sh` does).
struct EnrichPathBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrich-path",
        abstract: "Time per event of the agent's enrichment path (EventEnricher + payload encoding), one thread.")

    @Option(help: "JSON lines from gen_events.py.") var events: String = "/tmp/cx_events_1m.jsonl"
    @Option(help: "Events to use (the first ones of the file).") var limit: Int = 200_000
    @Option(help: "Events per request, as the ingest benchmark sends them.") var perRequest: Int = 100
    @Option(help: "Timed repetitions; the best is reported.") var reps: Int = 3
    @Option(
        help: """
            Requests per group commit in the writer stage (the agent grouped about 2.5 under the ingest benchmark, \
            enriched and plain alike, by its /v1/status counters).
            """)
    var requestsPerCommit: Int = 4
    @Option(help: "Directory for the writer stage's scratch buffers.") var scratch: String = "/tmp/cx-bench-writer"
    @Flag(
        inversion: .prefixedNo,
        help:
            "Time the writer stage (commits into SQLite); --no-writer times the enrichment alone in about half the time."
    )
    var writer = true
    @Option(
        help:
            "Write this many KiB of other memory between requests of the packed path, as the agent's HTTP parsing and SQLite do between enrichments; the eviction's own time is reported apart."
    )
    var evictKib: Int = 0
    @Flag(
        help:
            "Decode each request's events from JSON before the packed path enriches them: other code between enrichments, as the agent's parser is; the decoding's time is reported apart, alone and between requests."
    )
    var decodeBetween = false
    @Flag(
        help: """
            Also time the agent's whole request path without the writer (IngestService.prepare: parse the NDJSON \
            body, validate, enrich, encode the rows; then the JSON answer), plain and enriched: the CPU each event \
            costs a request task, the part of the ingest that enrichment adds to.
            """)
    var requestPath = false
    @Option(help: "Also run the packed path on this many threads at once, as the agent's request tasks do.")
    var threads: Int = 0
    @Flag(help: "With --threads, give each thread an enricher of its own (nothing shared).")
    var separateEnrichers = false
    @Option(
        help: """
            Alert rules to switch off, comma-separated ids (as the hub's alert_rules_disabled), or "all": what the \
            rules and the alerts they raise cost each stage.
            """)
    var alertRulesDisabled: String = ""

    /// Any fixed key: customer keys, and so the rows, are then the same on every run.
    static let fleetKey = [UInt8](repeating: 7, count: 32)

    /// An enricher with the fixed key and the alert rules left on by `--alert-rules-disabled`.
    func makeEnricher() throws -> EventEnricher {
        let enricher = try EventEnricher(fleetKey: Self.fleetKey)
        guard !alertRulesDisabled.isEmpty else { return enricher }
        // Read as the agent reads the hub's setting, with its checks.
        let list =
            alertRulesDisabled == "all" ? AlertRule.defaults.map(\.id).joined(separator: ",") : alertRulesDisabled
        let settings = HubAlertSettings(
            entries: [HubConfigEntry(collection: "config", key: "*", field: "alert_rules_disabled", value: list)],
            storeID: "")
        guard settings.problems.isEmpty else {
            throw ValidationError("--alert-rules-disabled: \(settings.problems.joined(separator: "; "))")
        }
        enricher.apply(settings)
        return enricher
    }

    func run() async throws {
        let lines = try IngestBench.readLines(path: events, limit: limit)
        let validator = EventValidator()
        let decoder = JSONDecoder()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let all = try lines.map {
            try validator.validate(decoder.decode(IncomingEvent.self, from: Data($0)), nowMillis: now).get()
        }
        // What the agent stores for a theme: its code in a fresh buffer's codebook (nil: themes stored inline).
        let codes = IngestService.themeCodes(
            ThemeCodebook.registered(try ThemeTaxonomy.bundledDefault().allThemes), try InsightEngine())
        var best: [String: Double] = [:]
        var alerts = 0
        // The rows the agent stores (its packed path) when the taxonomy packs, for the writer stage: the same in every
        // repetition, so made once.
        let stored = writer ? try codes.map { try storedRows(all, themeCodes: $0) } : nil
        for _ in 0..<reps {
            let enricher = try makeEnricher()
            var plainBytes = 0
            var enrichedBytes = 0
            let t0 = ContinuousClock.now
            for e in all { plainBytes += EventPayloadEncoder.encode(e).count }
            let t1 = ContinuousClock.now
            var enriched: [Event] = []
            enriched.reserveCapacity(all.count)
            alerts = 0
            var raised: [[PreparedAlert]] = []
            for start in stride(from: 0, to: all.count, by: perRequest) {
                var request = Array(all[start..<min(all.count, start + perRequest)])
                raised.append(try enricher.enrich(&request).map { try PreparedAlert($0, webhook: false) })
                alerts += raised[raised.count - 1].count
                enriched += request
            }
            let t2 = ContinuousClock.now
            for e in enriched { enrichedBytes += EventPayloadEncoder.encode(e).count }
            let t3 = ContinuousClock.now
            // What the agent runs: the packed enrichment, encoded straight into the stored row.
            let packedEnricher = try makeEnricher()
            var packedRows = 0
            // Work between requests (`--evict-kib`, `--decode-between`), timed alone first, then in the loop, where
            // its own time is subtracted: the two tell how much each side slows the other.
            var evict = [UInt8](repeating: 0, count: evictKib * 1024)
            func between(_ start: Int) throws {
                evict.withUnsafeMutableBufferPointer { b in
                    for i in stride(from: 0, to: b.count, by: 64) { b[i] &+= 1 }
                }
                guard decodeBetween else { return }
                for line in lines[start..<min(lines.count, start + perRequest)] {
                    _ = try decoder.decode(IncomingEvent.self, from: Data(line))
                }
            }
            let betweenRequests = evictKib > 0 || decodeBetween
            let e0 = ContinuousClock.now
            if betweenRequests {
                for start in stride(from: 0, to: all.count, by: perRequest) { try between(start) }
            }
            let e1 = ContinuousClock.now
            var betweenInLoop = Duration.zero
            let t4 = ContinuousClock.now
            for start in stride(from: 0, to: all.count, by: perRequest) {
                if betweenRequests {
                    let b0 = ContinuousClock.now
                    try between(start)
                    betweenInLoop += ContinuousClock.now - b0
                }
                packedRows += try Self.storedRequest(
                    all[start..<min(all.count, start + perRequest)], packedEnricher, themeCodes: codes
                ).rows.reduce(0) { $0 + $1.payloadCount }
            }
            let t5 = ContinuousClock.now
            let parallel = threads > 0 ? try parallelTime(all, themeCodes: codes) : nil
            if requestPath {
                let bodies = IngestBench.bodies(lines, perRequest: perRequest)
                for enriched in [false, true] {
                    let key = enriched ? "request_enriched_us" : "request_plain_us"
                    let t = try await requestPathTime(bodies, enriched: enriched)
                    best[key] = min(best[key] ?? .infinity, Self.micros(t) / Double(lines.count))
                }
            }
            func us(_ d: Duration) -> Double { Self.micros(d) / Double(all.count) }
            var figures: [String: Double] = [:]
            if let parallel {
                figures["parallel_thread_us"] = parallel.wall
                figures["parallel_thread_cpu_us"] = parallel.cpu
            }
            if writer {
                let book = ThemeCodebook.registered(try ThemeTaxonomy.bundledDefault().allThemes)
                let requests = { (events: [Event]) in
                    stride(from: 0, to: events.count, by: perRequest).map { start in
                        events[start..<min(events.count, start + perRequest)].map {
                            IngestService.prepare($0, themes: book)
                        }
                    }
                }
                func record(_ name: String, _ time: (wall: Duration, cpu: Double)) {
                    figures["writer_\(name)_us"] = us(time.wall)
                    figures["writer_\(name)_cpu_us"] = time.cpu * 1e6 / Double(all.count)
                }
                record("plain", try await writerTime(requests(all)))
                // Without packed themes the agent stores the full enrichment, as `enriched` holds it.
                let rows = stored?.rows ?? requests(enriched)
                let rowAlerts = stored?.alerts ?? raised
                record("enriched", try await writerTime(rows, alerts: rowAlerts))
                // What the enriched writer's extra time is made of: its alerts (against this), then the enrichment's
                // bytes (this against plain).
                record("noalerts", try await writerTime(rows))
            }
            figures["encode_plain_us"] = us(t1 - t0)
            figures["enrich_us"] = us(t2 - t1)
            figures["encode_enriched_us"] = us(t3 - t2)
            figures["enrich_packed_and_encode_us"] = us(t5 - t4 - betweenInLoop)
            if betweenRequests {
                figures["between_alone_us"] = us(e1 - e0)
                figures["between_in_loop_us"] = us(betweenInLoop)
            }
            let n = Double(all.count)
            figures["payload_packed_bytes"] = Double(packedRows) / n
            figures["payload_plain_bytes"] = Double(plainBytes) / n
            figures["payload_enriched_bytes"] = Double(enrichedBytes) / n
            for (k, v) in figures { best[k] = min(best[k] ?? .infinity, v) }
        }
        var result: [String: Any] = [
            "bench": "enrich-path", "events": all.count, "alerts": alerts,
            "rows_checksum": try rowsChecksum(all, themeCodes: codes),
        ]
        for (k, v) in best { result[k] = (v * 100).rounded() / 100 }
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }

    /// What the agent does with one request on the packed path: enrich, prepare the alerts, encode the rows (none
    /// without theme codes: the agent then takes the full path).
    static func storedRequest(_ events: ArraySlice<Event>, _ enricher: EventEnricher, themeCodes codes: [UInt8]?)
        throws -> (rows: [PreparedEvent], alerts: [PreparedAlert])
    {
        // A request's own array, as the agent's (its valid events, appended one by one): enriched in place, a copy of a
        // shared one was copied again, event by event, at its first change.
        var request = Array(events)
        let packed = enricher.enrichPackedBlocking(&request)
        let alerts = try packed.alerts.map { try PreparedAlert($0, webhook: false) }
        guard let codes else { return ([], alerts) }
        let rows = request.indices.map {
            IngestService.prepare(
                request[$0], packed: packed.enrichments[$0], customerKey: packed.customerKeys[$0], themeCodes: codes)
        }
        return (rows, alerts)
    }

    static func micros(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }

    /// Microseconds per event of the packed path on `threads` threads at once (each thread's time summed), one
    /// shared enricher as in the agent unless `separateEnrichers`: tells contention on the shared state and
    /// cache lines from the cost of the work. Wall time and the threads' CPU time: equal when no thread waits
    /// for the enricher's lock.
    func parallelTime(_ all: [Event], themeCodes codes: [UInt8]?) throws -> (wall: Double, cpu: Double) {
        let enrichers = try (0..<(separateEnrichers ? threads : 1)).map { _ in
            try makeEnricher()
        }
        let requests = stride(from: 0, to: all.count, by: perRequest).map {
            $0..<min(all.count, $0 + perRequest)
        }
        let threadCount = threads
        let outcome = Mutex<(busy: Duration, cpu: Double, error: (any Error)?)>((.zero, 0, nil))
        DispatchQueue.concurrentPerform(iterations: threadCount) { w in
            let enricher = enrichers[w % enrichers.count]
            let cpu0 = CPUTime.thread()
            let start = ContinuousClock.now
            do {
                for r in stride(from: w, to: requests.count, by: threadCount) {
                    _ = try Self.storedRequest(all[requests[r]], enricher, themeCodes: codes)
                }
            } catch {
                outcome.withLock { $0.error = $0.error ?? error }
            }
            let took = ContinuousClock.now - start
            let cpu = CPUTime.thread() - cpu0
            outcome.withLock {
                $0.busy += took
                $0.cpu += cpu
            }
        }
        let (busy, cpu, error) = outcome.withLock { ($0.busy, $0.cpu, $0.error) }
        if let error { throw error }
        return (Self.micros(busy) / Double(all.count), cpu * 1e6 / Double(all.count))
    }

    /// FNV-1a of every row the agent's path stores for `events` (payload and theme codes, in order), from a fresh
    /// enricher: equal before and after a change to the engine or the encoder means the agent stores the same
    /// bytes. Alerts are left out: their ids hold the ingest time. A pass of its own, so that the timed loop does not
    /// time the hashing.
    func rowsChecksum(_ events: [Event], themeCodes: [UInt8]?) throws -> String {
        guard let codes = themeCodes else { return "-" }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: [UInt8]) {
            for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        try forEachStoredRequest(events, themeCodes: codes) { rows, _ in
            for row in rows {
                mix(row.payload)
                mix(row.themeCodes)
            }
        }
        return String(h, radix: 16)
    }

    /// The rows and alerts the agent's packed path stores for `events`, request by request, from a fresh enricher.
    func storedRows(_ events: [Event], themeCodes codes: [UInt8]) throws -> (
        rows: [[PreparedEvent]], alerts: [[PreparedAlert]]
    ) {
        var rows: [[PreparedEvent]] = []
        var alerts: [[PreparedAlert]] = []
        try forEachStoredRequest(events, themeCodes: codes) {
            rows.append($0)
            alerts.append($1)
        }
        return (rows, alerts)
    }

    /// Calls `body` with each request's stored rows and alerts, as the agent's packed path makes them, from a fresh
    /// enricher.
    func forEachStoredRequest(
        _ events: [Event], themeCodes codes: [UInt8], _ body: ([PreparedEvent], [PreparedAlert]) throws -> Void
    ) throws {
        let enricher = try makeEnricher()
        for start in stride(from: 0, to: events.count, by: perRequest) {
            let stored = try Self.storedRequest(
                events[start..<min(events.count, start + perRequest)], enricher, themeCodes: codes)
            try body(stored.rows, stored.alerts)
        }
    }

    /// `IngestService.prepare(body:contentType:)` of every body, then the answer as if every event was stored.
    func requestPathTime(_ bodies: [[UInt8]], enriched: Bool) async throws -> Duration {
        try? FileManager.default.removeItem(atPath: scratch)
        let store = try BufferStore.open(directory: scratch, quotaBytes: 1 << 40, logger: Logger(label: "cx-bench"))
        var configuration = AgentConfiguration()
        configuration.dataDirectory = scratch
        let enricher = enriched ? try makeEnricher() : nil
        let service = IngestService(store: store, configuration: configuration, enricher: enricher)
        var seq: UInt64 = 0
        var answered = 0
        let t0 = ContinuousClock.now
        for body in bodies {
            var request = try await service.prepare(body: body, contentType: "application/x-ndjson")
            request.record(
                request.prepared.map { _ in
                    seq += 1
                    return .accepted(seq: seq)
                })
            answered += request.response().jsonBytes().count
        }
        let d = ContinuousClock.now - t0
        precondition(answered > 0)
        try store.close()
        try? FileManager.default.removeItem(atPath: scratch)
        return d
    }

    /// Time to commit `requests` (rows encoded beforehand, as the request tasks do) into a fresh buffer,
    /// `requestsPerCommit` requests per transaction: by the wall clock, fsyncs included, and the process's CPU
    /// time in seconds, which leaves out the waits for the disk (the noisiest part of the wall clock here).
    func writerTime(_ requests: [[PreparedEvent]], alerts: [[PreparedAlert]] = []) async throws -> (
        wall: Duration, cpu: Double
    ) {
        try? FileManager.default.removeItem(atPath: scratch)
        let store = try BufferStore.open(directory: scratch, quotaBytes: 1 << 40, logger: Logger(label: "cx-bench"))
        // As the agent does when enrichment is on (the enricher here runs the bundled taxonomy): the rows' theme
        // codes are this codebook's.
        try store.registerThemes(try ThemeTaxonomy.bundledDefault().allThemes)
        let cpu0 = CPUTime.process()
        let t0 = ContinuousClock.now
        for start in stride(from: 0, to: requests.count, by: requestsPerCommit) {
            let end = min(requests.count, start + requestsPerCommit)
            _ = try await store.commit(
                Array(requests[start..<end]), alerts: alerts.isEmpty ? [] : Array(alerts[start..<end]))
        }
        let d = ContinuousClock.now - t0
        let cpu = CPUTime.process() - cpu0
        try store.close()
        try? FileManager.default.removeItem(atPath: scratch)
        return (d, cpu)
    }
}
