import AsyncHTTPClient
import CXAgent
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A temporary directory removed at the end of the test.
final class TempDir: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cxagent-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

enum TestEvents {
    static func json(
        id: UUID = UUID(), store: String = "store-001", channel: String = "kiosk", text: String = "ok",
        ts: Int64 = 1_704_067_200_000
    ) -> String {
        "{\"event_id\":\"\(id.uuidString.lowercased())\",\"store_id\":\"\(store)\",\"device_id\":\"\(store)-\(channel)-01\","
            + "\"channel\":\"\(channel)\",\"ts\":\(ts),\"type\":\"survey_nps\",\"score\":7,\"text\":\"\(text)\"}"
    }

    static func ndjson(_ ids: [UUID]) -> [UInt8] {
        Array(ids.map { json(id: $0) }.joined(separator: "\n").utf8)
    }
}

var testLogger: Logger {
    var l = Logger(label: "test")
    l.logLevel = .critical
    return l
}

/// A real `cx-agent run` process on a free loopback port.
final class AgentProcess: @unchecked Sendable {
    static var binary: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/cx-agent").path
    }

    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    private(set) var port = 0

    init(dataDirectory: String, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        stdoutPath = dataDirectory + ".stdout"
        stderrPath = dataDirectory + ".stderr"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["run", "--data-dir", dataDirectory, "--listen-port", "0"] + extraArguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    /// Waits for the "listening on" line; throws if the process exits or takes longer than `timeout`.
    func waitUntilListening(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("cx-agent listening on") }),
                let p = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                port = p
                return
            }
            if !process.isRunning {
                throw TestFailure("agent exited with \(process.terminationStatus): \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("agent did not listen within \(timeout): \(stderr)")
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    func kill(_ signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    func post(_ body: [UInt8], contentType: String = "application/x-ndjson") async throws -> (Int, String, HTTPHeaders)
    {
        var request = HTTPClientRequest(url: baseURL + "/v1/events")
        request.method = .POST
        request.headers.add(name: "content-type", value: contentType)
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 24))
        return (Int(response.status.code), text, response.headers)
    }

    func get(_ path: String) async throws -> (Int, String) {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: baseURL + path), timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 24)))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
