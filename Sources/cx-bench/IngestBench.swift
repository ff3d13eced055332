import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Drives a running agent's ingest API with concurrent producers and reports throughput and ack latency.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "HTTP ingest throughput and ack latency against a running cx-agent.")

    @Option(help: "JSON-lines event file (the standard workload).")
    var events = "/tmp/cx_events_1m.jsonl"

    @Option(help: "Base URL of the agent.")
    var url: String

    @Option(help: "Concurrent producers.")
    var producers = 8

    @Option(help: "Events per request.")
    var perRequest = 100

    @Option(help: "Use at most this many events (0: all).")
    var limit = 0

    func run() async throws {
        let bodies = try Self.requestBodies(path: events, perRequest: perRequest, limit: limit)
        let total = bodies.reduce(0) { $0 + $1.count }
        let client = HTTPClient.shared
        let clock = ContinuousClock()
        let host = Self.hostCPUTicks()
        let ownCPU = CPUTime.process()
        let start = clock.now
        let perProducer = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for p in 0..<producers {
                group.addTask {
                    var latencies: [Duration] = []
                    for i in stride(from: p, to: bodies.count, by: producers) {
                        var request = HTTPClientRequest(url: url + "/v1/events")
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/x-ndjson")
                        request.body = .bytes(bodies[i].body)
                        let t0 = clock.now
                        let response = try await client.execute(request, timeout: .seconds(120))
                        let answer = try await response.body.collect(upTo: 1 << 22)
                        guard response.status == .ok else {
                            throw ValidationError(
                                "request \(i) got \(response.status): \(String(buffer: answer).prefix(300))")
                        }
                        latencies.append(clock.now - t0)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let elapsed = clock.now - start
        let idle = Self.idleShare(from: host, to: Self.hostCPUTicks())
        let ownCPUSpent = CPUTime.process() - ownCPU
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sorted = perProducer.map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
            .sorted()
        func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        var result: [String: Any] = [
            "bench": "agent_http_ingest", "events": total, "requests": bodies.count, "producers": producers,
            "events_per_request": perRequest, "seconds": (seconds * 100).rounded() / 100,
            "events_per_s": Int(Double(total) / seconds), "ack_latency_ms_p50": (pct(0.5) * 100).rounded() / 100,
            "ack_latency_ms_p99": (pct(0.99) * 100).rounded() / 100,
        ]
        if let idle { result["host_idle_share"] = (idle * 1000).rounded() / 1000 }
        // This load generator shares the cores with the agent: its CPU per event is part of what the rate costs.
        result["client_cpu_us_per_event"] = (ownCPUSpent * 1e8 / Double(total)).rounded() / 100
        print(
            String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    }

    /// The host's CPU time so far by state (user, nice, system, idle, iowait, ...), from the first line of
    /// /proc/stat; nil where there is none.
    static func hostCPUTicks() -> [Int]? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
        else { return nil }
        return line.split(separator: " ").dropFirst().compactMap { Int($0) }
    }

    /// The share of the host's CPU time in which nothing ran (idle and iowait) between two readings: well above
    /// zero, the closed loop of producers was bound by latency rather than by CPU.
    static func idleShare(from a: [Int]?, to b: [Int]?) -> Double? {
        guard let a, let b, a.count >= 5, a.count == b.count else { return nil }
        let spent = zip(a, b).map { $1 - $0 }
        let total = spent.reduce(0, +)
        return total > 0 ? Double(spent[3] + spent[4]) / Double(total) : nil
    }

    struct Body: Sendable {
        var body: ByteBuffer
        var count: Int
    }

    /// Pre-builds every request body so that the timed loop measures the agent, not the file reading.
    static func requestBodies(path: String, perRequest: Int, limit: Int) throws -> [Body] {
        let lines = try readLines(path: path, limit: limit)
        return bodies(lines, perRequest: perRequest).enumerated().map { k, body in
            Body(body: ByteBuffer(bytes: body), count: min(perRequest, lines.count - k * perRequest))
        }
    }

    /// The request bodies as plain byte arrays, as the agent's handler receives them: `perRequest` lines each, every
    /// line ended by a newline.
    static func bodies(_ lines: [ArraySlice<UInt8>], perRequest: Int) -> [[UInt8]] {
        stride(from: 0, to: lines.count, by: perRequest).map { i in
            var body: [UInt8] = []
            for line in lines[i..<min(lines.count, i + perRequest)] {
                body += line
                body.append(UInt8(ascii: "\n"))
            }
            return body
        }
    }

    static func readLines(path: String, limit: Int) throws -> [ArraySlice<UInt8>] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path); generate it with ../shared/bench/peers/gen_events.py")
        }
        let bytes = [UInt8](data)
        var lines = bytes.split(separator: UInt8(ascii: "\n"))
        if limit > 0 && lines.count > limit { lines.removeSubrange(limit...) }
        return lines
    }
}
