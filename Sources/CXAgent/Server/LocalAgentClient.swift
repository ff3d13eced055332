import AsyncHTTPClient
import CXCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// How CLI commands reach the buffer: in-process when no agent runs on the data directory (holding its lock
/// meanwhile), else through the running agent's loopback API so that it stays the only writer.
public final class LocalAgentClient: Sendable {
    enum Mode {
        case direct(IngestService, AgentLock, AgentCredentials?)
        case http(HTTPClient, String)
    }

    let mode: Mode
    /// The running agent's `api_token`, sent with every request when it has one.
    let authorization: String?
    let dataDirectory: String

    public init(configuration: AgentConfiguration, logger: Logger) throws {
        // Like `cx-agent run`: an enrolled agent only takes events of its own store.
        let credentials = try AgentCredentials.load(directory: configuration.dataDirectory)
        let c = try configuration.bound(to: credentials)
        authorization = c.apiToken.isEmpty ? nil : "Bearer \(c.apiToken)"
        dataDirectory = c.dataDirectory
        if let lock = try AgentLock.acquire(directory: c.dataDirectory) {
            let store = try BufferStore.open(
                directory: c.dataDirectory, quotaBytes: c.quotaBytes, cacheKiB: c.cacheKiB,
                maxClockDrift: c.maxClockDrift, logger: logger)
            mode = .direct(
                try IngestService(store: store, configuration: c, credentials: credentials), lock, credentials)
        } else {
            // The address the running agent bound (it may listen on port 0, or on another port than this
            // configuration's); the configured one when it wrote none.
            let written = try? String(
                contentsOfFile: (c.dataDirectory as NSString).appendingPathComponent(Self.addressFile), encoding: .utf8)
            let base =
                written.map { "http://" + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                ?? "http://\(c.listenHost.contains(":") ? "[\(c.listenHost)]" : c.listenHost):\(c.listenPort)"
            mode = .http(HTTPClient(eventLoopGroupProvider: .singleton), base)
        }
    }

    /// The file in the data directory where a running agent writes the address it listens on.
    public static let addressFile = "listen-address"

    /// A request to the running agent; a connection failure says that an agent holds the directory but does not
    /// answer there (it was a raw "connection refused").
    func execute(_ client: HTTPClient, _ request: HTTPClientRequest, timeout: TimeAmount) async throws
        -> HTTPClientResponse
    {
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw LocalAgentError(
                status: 0,
                body:
                    "an agent runs on \(dataDirectory) (it holds the directory's lock) but does not answer at \(request.url): \(error)"
            )
        }
    }

    /// A request to the running agent, with the agent's token if it has one.
    func request(_ url: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        if let authorization { request.headers.add(name: "authorization", value: authorization) }
        return request
    }

    /// The body of a GET of `url` from the running agent; any answer but 200 is an error (a wrong token must not
    /// print as a status and exit 0).
    func text(_ client: HTTPClient, _ url: String) async throws -> String {
        let response = try await execute(client, request(url), timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard response.status == .ok else { throw LocalAgentError(status: Int(response.status.code), body: body) }
        return body
    }

    public func shutdown() {
        switch mode {
        case .direct(let ingest, _, _): try? ingest.store.close()
        case .http(let client, _): try? client.syncShutdown()
        }
    }

    public func ingest(ndjson body: [UInt8]) async throws -> IngestResponse {
        switch mode {
        case .direct(let ingest, _, _):
            return try await ingest.ingest(body: body, contentType: "application/x-ndjson")
        case .http(let client, let base):
            var request = request(base + "/v1/events")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/x-ndjson")
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await execute(client, request, timeout: .seconds(60))
            let bytes = try await response.body.collect(upTo: 64 << 20)
            return try IngestResponse(status: Int(response.status.code), json: Data(bytes.readableBytesView))
        }
    }

    public func statusJSON() async throws -> String {
        switch mode {
        case .direct(let ingest, _, _):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            return String(decoding: try encoder.encode(try await ingest.store.stats()), as: UTF8.self)
        case .http(let client, let base):
            return try await text(client, base + "/v1/status")
        }
    }
}

extension LocalAgentClient {
    /// What `GET /v1/sync` answers: from the running agent, or read from the buffer when none runs.
    public func syncJSON() async throws -> String {
        switch mode {
        case .direct(let ingest, _, let credentials):
            let store = ingest.store
            var snapshot = SyncSnapshot()
            snapshot.state = credentials == nil ? "not_enrolled" : "not_running"
            snapshot.hubURL = credentials?.hubURL
            snapshot.agentID = store.identity.agentID
            snapshot.storeID = credentials?.storeID
            if let inFlight = try await store.loadInFlight() {
                snapshot.inFlightFrom = inFlight.seqFrom
                snapshot.inFlightTo = inFlight.seqTo
            }
            var report = try await store.syncReport(snapshot)
            report.sync.lastAckAt = report.counters["last_ack_at"]
            report.sync.clockOffsetMillis = report.counters["clock_offset_ms"]
            return try report.json(pretty: true)
        case .http(let client, let base):
            return try await text(client, base + "/v1/sync")
        }
    }
}

extension IngestResponse {
    /// Reads the agent's JSON answer (the inverse of `jsonBody()`).
    init(status: Int, json: Data) throws {
        guard let object = try JSONSerialization.jsonObject(with: json) as? [String: Any] else {
            throw BufferError(code: "bad_response", message: "the agent's answer is not a JSON object")
        }
        self.status = status
        self.retryAfterSeconds = object["retry_after_seconds"] as? Int64
        if let e = object["error"] as? [String: Any] {
            self.error = (e["code"] as? String ?? "error", e["message"] as? String ?? "")
            self.results = []
            return
        }
        self.error = nil
        self.results = (object["results"] as? [[String: Any]] ?? []).map { r in
            let status = EventResult.Status(rawValue: r["status"] as? String ?? "") ?? .rejected
            var error: EventValidationError?
            if status == .rejected {
                let code = EventValidationError.Code(rawValue: r["code"] as? String ?? "") ?? .invalidValue
                error = EventValidationError(code, field: r["field"] as? String ?? "", r["message"] as? String ?? "")
            }
            return EventResult(
                index: r["index"] as? Int ?? 0, status: status, eventID: r["event_id"] as? String,
                seq: (r["seq"] as? NSNumber)?.uint64Value, error: error)
        }
    }
}

/// The running agent answered a CLI command's request with an error.
public struct LocalAgentError: Error, CustomStringConvertible {
    public var status: Int
    public var body: String
    public var description: String { status == 0 ? body : "the running agent answered \(status): \(body)" }
}
