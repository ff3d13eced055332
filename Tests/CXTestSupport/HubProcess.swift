import AsyncHTTPClient
import CXProtocol
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A real `cx-hub` (`init` + `run`) serving HTTPS on a free loopback port, with the operator token and the CA
/// that `init` wrote, so that tests talk to the hub as agents and operators do.
public final class HubProcess: @unchecked Sendable {
    /// Who a request to the hub claims to be.
    public enum Authorization: Sendable {
        /// The operator token from `admin.token`, which the query API requires.
        case admin
        /// Another bearer token, to see the hub refuse it.
        case bearer(String)
        /// None: the agents' routes (`/v1/enroll`, `/v1/sync`) go by enrollment token and signature instead.
        case none
    }

    /// The hub's data directory (database, TLS files, operator token).
    public let dataDirectory: String
    private let environment: [String: String]
    /// The directory the hub made for itself when given none; a shared hub outlives every test, so it is also
    /// removed at exit.
    private let scratch: TempDir?
    private var server: ServerProcess

    private init(dataDirectory: String, environment: [String: String], scratch: TempDir?) throws {
        self.dataDirectory = dataDirectory
        self.environment = environment
        self.scratch = scratch
        if !FileManager.default.fileExists(atPath: dataDirectory + "/hub.sqlite") {
            let initialized = try Subprocess.run(
                product: "cx-hub", ["init", "--data-dir", dataDirectory], environment: environment)
            guard initialized.status == 0 else { throw TestFailure("cx-hub init failed: \(initialized.stderr)") }
        }
        server = try Self.launch(dataDirectory: dataDirectory, port: 0, environment: environment)
    }

    /// Starts a hub on `dataDirectory` (initialized first unless it holds a hub already), or on a directory of its
    /// own when nil, with the test process's environment plus `environment` for both `init` and `run`; returns once
    /// it listens.
    public static func start(
        dataDirectory: String? = nil, environment: [String: String] = [:]
    ) async throws -> HubProcess {
        let hub: HubProcess
        if let dataDirectory {
            hub = try HubProcess(dataDirectory: dataDirectory, environment: environment, scratch: nil)
        } else {
            let scratch = TempDir()
            ChildProcesses.removeAtExit(scratch.path)
            hub = try HubProcess(dataDirectory: scratch.path + "/hub", environment: environment, scratch: scratch)
        }
        try await hub.server.waitUntilListening()
        return hub
    }

    private static func launch(dataDirectory: String, port: Int, environment: [String: String]) throws
        -> ServerProcess
    {
        try ServerProcess(
            "cx-hub", ["run", "--data-dir", dataDirectory, "--listen-port", String(port)],
            environment: environment, logPrefix: dataDirectory)
    }

    /// Starts the hub again on its data directory and its port, so that agents keep their URL; for after `kill`.
    public func restart() async throws {
        server = try Self.launch(dataDirectory: dataDirectory, port: port, environment: environment)
        try await server.waitUntilListening()
    }

    /// Sends `signal` if the hub still runs (SIGTERM: a graceful stop; SIGKILL: a crash), and waits until it has
    /// exited.
    public func kill(_ signal: Int32) {
        server.kill(signal)
    }

    deinit {
        server.kill(SIGKILL)
    }

    /// The port the hub listens on.
    public var port: Int { server.port }
    /// Everything the hub wrote to standard error so far.
    public var stderr: String { server.stderr }
    /// The hub's base URL.
    public var url: String { "https://127.0.0.1:\(port)" }
    /// The CA that issued the hub's certificate (clients trust only it).
    public var caPath: String { dataDirectory + "/tls/ca.pem" }
    /// The operator token `init` wrote.
    public var adminToken: String {
        ((try? String(contentsOfFile: dataDirectory + "/admin.token", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An HTTPS client that trusts only this hub's CA. Shut it down after use.
    public func client() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(10), read: .seconds(60))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// One request; returns the status and the body.
    public func request(
        _ client: HTTPClient, _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil,
        contentType: String = "application/json", headers: [(String, String)] = [],
        authorization: Authorization = .admin
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        switch authorization {
        case .admin: request.headers.add(name: "authorization", value: "Bearer \(adminToken)")
        case .bearer(let token): request.headers.add(name: "authorization", value: "Bearer \(token)")
        case .none: break
        }
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

    /// Gets `path` with the operator token (or `token`); returns the status and the body as text.
    public func get(_ client: HTTPClient, _ path: String, token: String? = nil) async throws -> (Int, String) {
        let (status, body) = try await request(
            client, .GET, path, authorization: token.map { .bearer($0) } ?? .admin)
        return (status, String(decoding: body, as: UTF8.self))
    }

    /// Posts `body` without authorization (unless `headers` carry one); returns the status and the body as text.
    public func post(
        _ client: HTTPClient, _ path: String, _ body: [UInt8], contentType: String, headers: [(String, String)] = []
    ) async throws -> (Int, String) {
        let (status, answer) = try await request(
            client, .POST, path, body: body, contentType: contentType, headers: headers, authorization: .none)
        return (status, String(decoding: answer, as: UTF8.self))
    }

    /// A one-time enrollment token from `cx-hub agents enroll`.
    public func enrollmentToken(store: String, device: String) throws -> String {
        let result = try Subprocess.run(
            product: "cx-hub",
            ["agents", "enroll", "--data-dir", dataDirectory, "--store", store, "--device", device])
        guard result.status == 0 else { throw TestFailure("enrollment token failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Enrolls a test identity directly through the API (what `cx-agent enroll` does); returns its signing key.
    public func enroll(
        _ client: HTTPClient, agentID: String, store: String, device: String
    ) async throws -> AgentSigningKey {
        let key = AgentSigningKey()
        let token = try enrollmentToken(store: store, device: device)
        let body =
            "{\"token\":\"\(token)\",\"agent_id\":\"\(agentID)\","
            + "\"public_key\":\"\(Data(key.publicKey.rawRepresentation).base64EncodedString())\"}"
        let (status, text) = try await post(client, "/v1/enroll", Array(body.utf8), contentType: "application/json")
        guard status == 200 else { throw TestFailure("enroll failed \(status): \(text)") }
        return key
    }

    /// Posts a sync frame; returns the status and the decoded Ack or Error.
    public func sync(
        _ client: HTTPClient, _ frame: [UInt8], headers: [(String, String)] = [("CX-Protocol", "1.1")]
    ) async throws -> (Int, Cxsync_V1_Ack?, Cxsync_V1_Error?) {
        let (status, bytes) = try await request(
            client, .POST, "/v1/sync", body: frame, contentType: "application/x-cxsync-frame", headers: headers,
            authorization: .none)
        let decoder = FrameDecoder()
        let header = try decoder.header(of: bytes)
        let message = try decoder.payload(of: bytes, header: header)
        if status == 200 {
            return (status, try decoder.decode(Cxsync_V1_Ack.self, from: message), nil)
        }
        return (status, nil, try decoder.decode(Cxsync_V1_Error.self, from: message))
    }
}
