import AsyncHTTPClient
import CXCore
import CXProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A temporary directory removed at the end of the test.
final class TempDir: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cxhub-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

enum Binaries {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug")
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs a command to completion; returns (status, stdout, stderr).
    @discardableResult
    static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws
        -> (Int32, String, String)
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path(name))
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// A real `cx-hub` (init + run) serving HTTPS on a free loopback port.
final class HubProcess: @unchecked Sendable {
    let dataDirectory: String
    var process = Process()
    let stdoutPath: String
    let stderrPath: String
    private(set) var port = 0
    let extraArguments: [String]

    init(dataDirectory: String, extraArguments: [String] = [], fixedPort: Int? = nil) throws {
        self.dataDirectory = dataDirectory
        self.extraArguments = extraArguments
        stdoutPath = dataDirectory + ".stdout"
        stderrPath = dataDirectory + ".stderr"
        if !FileManager.default.fileExists(atPath: dataDirectory + "/hub.sqlite") {
            let (status, _, err) = try Binaries.run("cx-hub", ["init", "--data-dir", dataDirectory])
            guard status == 0 else { throw TestFailure("cx-hub init failed: \(err)") }
        }
        try start(port: fixedPort ?? 0)
    }

    func start(port requested: Int) throws {
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: Binaries.path("cx-hub"))
        process.arguments = ["run", "--data-dir", dataDirectory, "--listen-port", String(requested)] + extraArguments
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    func waitUntilListening(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("cx-hub listening on") }),
                let p = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                port = p
                return
            }
            if !process.isRunning { throw TestFailure("hub exited with \(process.terminationStatus): \(stderr)") }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("hub did not listen within \(timeout): \(stderr)")
    }

    /// Restarts on the same port (agents keep their URL).
    func restart() async throws {
        let p = port
        try start(port: p)
        try await waitUntilListening()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var url: String { "https://127.0.0.1:\(port)" }
    var caPath: String { dataDirectory + "/tls/ca.pem" }
    var adminToken: String {
        ((try? String(contentsOfFile: dataDirectory + "/admin.token", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop(_ signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    deinit { stop(SIGKILL) }

    /// An HTTPS client that trusts only this hub's CA.
    func client() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(5), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func enrollmentToken(store: String, device: String) throws -> String {
        let (status, out, err) = try Binaries.run(
            "cx-hub", ["agents", "enroll", "--data-dir", dataDirectory, "--store", store, "--device", device])
        guard status == 0 else { throw TestFailure("enroll token failed: \(err)") }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Enrolls a test identity directly through the API (what `cx-agent enroll` does).
    func enroll(_ client: HTTPClient, agentID: String, store: String, device: String) async throws -> AgentSigningKey {
        let key = AgentSigningKey()
        let token = try enrollmentToken(store: store, device: device)
        let body =
            "{\"token\":\"\(token)\",\"agent_id\":\"\(agentID)\",\"public_key\":\"\(Data(key.publicKey.rawRepresentation).base64EncodedString())\"}"
        let (status, text) = try await post(client, "/v1/enroll", Array(body.utf8), contentType: "application/json")
        guard status == 200 else { throw TestFailure("enroll failed \(status): \(text)") }
        return key
    }

    func post(
        _ client: HTTPClient, _ path: String, _ body: [UInt8], contentType: String, headers: [(String, String)] = []
    )
        async throws -> (Int, String)
    {
        let (status, bytes) = try await postBytes(client, path, body, contentType: contentType, headers: headers)
        return (status, String(decoding: bytes, as: UTF8.self))
    }

    func postBytes(
        _ client: HTTPClient, _ path: String, _ body: [UInt8], contentType: String, headers: [(String, String)] = []
    ) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: url + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: contentType)
        for (n, v) in headers { request.headers.add(name: n, value: v) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 1 << 26)
        return (Int(response.status.code), Array(buffer.readableBytesView))
    }

    func get(_ client: HTTPClient, _ path: String, token: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url + path)
        request.headers.add(name: "authorization", value: "Bearer \(token ?? adminToken)")
        let response = try await client.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 26)))
    }

    /// Posts a sync frame; returns the status and the decoded Ack or Error.
    func sync(_ client: HTTPClient, _ frame: [UInt8], headers: [(String, String)] = [("CX-Protocol", "1.1")])
        async throws -> (Int, Cxsync_V1_Ack?, Cxsync_V1_Error?)
    {
        let (status, bytes) = try await postBytes(
            client, "/v1/sync", frame, contentType: "application/x-cxsync-frame", headers: headers)
        let decoder = FrameDecoder()
        let header = try decoder.header(of: bytes)
        let message = try decoder.payload(of: bytes, header: header)
        if status == 200 {
            return (status, try decoder.decode(Cxsync_V1_Ack.self, from: message), nil)
        }
        return (status, nil, try decoder.decode(Cxsync_V1_Error.self, from: message))
    }
}

/// Builds signed batches as an agent would.
struct TestAgent {
    var agentID: String
    var store: String
    var key: AgentSigningKey
    var epoch: UInt64 = 1

    func event(seq: UInt64, store: String? = nil, customer: String? = nil, hlcWall: Int64? = nil) -> SequencedEvent {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return SequencedEvent(
            seq: seq,
            event: Event(
                eventID: UUID(), storeID: store ?? self.store, deviceID: "\(self.store)-kiosk-01", channel: .kiosk,
                type: .surveyNPS, occurredAt: now, hlc: HLCTimestamp(wallMillis: hlcWall ?? now, counter: 0),
                customerID: customer, score: Score(value: 9, scale: .nps), text: "great service"))
    }

    func batch(_ range: ClosedRange<UInt64>, events: [SequencedEvent]? = nil, sentWall: Int64? = nil)
        -> Cxsync_V1_Batch
    {
        var b = Cxsync_V1_Batch()
        b.agentID = agentID
        b.epoch = epoch
        b.seqFrom = range.lowerBound
        b.seqTo = range.upperBound
        b.storeID = store
        b.sentHlc =
            HLCTimestamp(wallMillis: sentWall ?? Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
        b.events = (events ?? range.map { event(seq: $0) }).map {
            Cxsync_V1_Event($0.event, seq: $0.seq, batchStoreID: store)
        }
        return b
    }

    func frame(_ batch: Cxsync_V1_Batch, signer: AgentSigningKey? = nil, keyID: String? = nil) -> [UInt8] {
        FrameEncoder().frame(batch, kind: .batch, signer: (keyID ?? agentID, signer ?? key))
    }
}
