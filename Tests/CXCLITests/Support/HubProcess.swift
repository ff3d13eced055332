import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// A temporary directory, removed when the value goes away.
final class TempDir: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cxcli-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String

    init(_ d: String) {
        description = d
    }
}

/// The repository root and the built products (`.build/debug`).
enum Repository {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static func binary(_ name: String) -> String {
        root.appendingPathComponent(".build/debug").appendingPathComponent(name).path
    }
}

/// Child processes that must not outlive the test process (killed at exit), and their directories (removed).
enum ChildProcesses {
    private static let pids = Mutex<Set<Int32>>([])
    private static let directories = Mutex<[String]>([])
    private static let installed = Mutex(false)

    static func track(_ pid: Int32, directory: String) {
        pids.withLock { _ = $0.insert(pid) }
        directories.withLock { $0.append(directory) }
        installed.withLock { done in
            guard !done else { return }
            done = true
            atexit {
                for pid in ChildProcesses.snapshot() {
                    kill(pid, SIGKILL)
                }
                for directory in ChildProcesses.directories.withLock({ $0 }) {
                    try? FileManager.default.removeItem(atPath: directory)
                }
            }
        }
    }

    static func untrack(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    static func snapshot() -> [Int32] {
        pids.withLock { Array($0) }
    }
}

/// A real `cx-hub` (`init` + `run --listen-port 0`) serving HTTPS on a free loopback port.
final class HubProcess: @unchecked Sendable {
    let directory = TempDir()
    let process = Process()
    private(set) var port = 0

    var dataDirectory: String { directory.path + "/hub" }
    var stdoutPath: String { directory.path + "/hub.stdout" }
    var stderrPath: String { directory.path + "/hub.stderr" }
    var url: String { "https://127.0.0.1:\(port)" }
    var caPath: String { dataDirectory + "/tls/ca.pem" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var adminToken: String {
        ((try? String(contentsOfFile: dataDirectory + "/admin.token", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Initializes a data directory and starts the hub; returns once it listens.
    static func start() async throws -> HubProcess {
        let hub = HubProcess()
        let initialized = try Subprocess.run(Repository.binary("cx-hub"), ["init", "--data-dir", hub.dataDirectory])
        guard initialized.status == 0 else { throw TestFailure("cx-hub init failed: \(initialized.stderr)") }
        FileManager.default.createFile(atPath: hub.stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: hub.stderrPath, contents: nil)
        hub.process.executableURL = URL(fileURLWithPath: Repository.binary("cx-hub"))
        hub.process.arguments = ["run", "--data-dir", hub.dataDirectory, "--listen-port", "0"]
        hub.process.standardOutput = FileHandle(forWritingAtPath: hub.stdoutPath)
        hub.process.standardError = FileHandle(forWritingAtPath: hub.stderrPath)
        try hub.process.run()
        ChildProcesses.track(hub.process.processIdentifier, directory: hub.directory.path)
        try await hub.waitUntilListening()
        return hub
    }

    private func waitUntilListening(timeout: Duration = .seconds(60)) async throws {
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

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        ChildProcesses.untrack(process.processIdentifier)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// An HTTPS client that trusts only this hub's CA. Shut it down after use.
    func client() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(10), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// One request; returns the status and the body.
    func request(
        _ client: HTTPClient, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
        contentType: String = "application/json", headers: [(String, String)] = [], token: String? = nil
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(token ?? adminToken)")
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.headers.add(name: "content-type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 1 << 26)
        return (Int(response.status.code), Array(buffer.readableBytesView))
    }

    /// A one-time enrollment token from `cx-hub agents enroll`.
    func enrollmentToken(store: String, device: String) throws -> String {
        let result = try Subprocess.run(
            Repository.binary("cx-hub"),
            ["agents", "enroll", "--data-dir", dataDirectory, "--store", store, "--device", device])
        guard result.status == 0 else { throw TestFailure("enrollment token failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The result of a finished subprocess.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Output lines without their line ends (CSV ends lines with CRLF).
    var lines: [String] {
        stdout.split(whereSeparator: \.isNewline).map(String.init)
    }
}

enum Subprocess {
    /// Runs `executable` to completion (killed after `timeout`) with `environment` as its whole environment.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment {
            p.environment = environment
        }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let errors = Mutex(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errors.withLock { $0 = data }
            group.leave()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        watchdog.cancel()
        return ProcessResult(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: errors.withLock { $0 }, as: UTF8.self))
    }
}
