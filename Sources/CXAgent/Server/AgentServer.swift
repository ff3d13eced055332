import CXCore
import CXInsight
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The agent's local HTTP API on loopback: ingest, health and buffer status.
public enum AgentServer {
    /// The longest alert note the protocol carries (`note.value`, PROTOCOL.md §6.2).
    static let maxNoteBytes = EventLimits().maxTextLength
    /// Builds the HTTP application; `onListening` receives the bound port (useful with port 0).
    public static func application(
        ingest: IngestService, sync: SyncMonitor = SyncMonitor(), logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        if !ingest.configuration.apiToken.isEmpty {
            router.add(middleware: APITokenAuth(token: Array(ingest.configuration.apiToken.utf8)))
        } else {
            router.add(middleware: LoopbackGuard(listenHost: ingest.configuration.listenHost))
        }
        let maxBody = ingest.configuration.maxBodyBytes
        let noteMasker = PIIMasker(patterns: ingest.configuration.piiPatterns)
        router.get("/v1/health") { _, _ in
            jsonResponse(200, "{\"status\":\"ok\"}")
        }
        router.get("/v1/status") { _, _ in
            var stats = try await ingest.store.stats()
            stats.commitsSinceStart = ingest.committer.commits
            stats.committedRequestsSinceStart = ingest.committer.groupedRequests
            let waits = ingest.committer.commitWaits
            stats.commitWaitsSinceStart = waits.count
            stats.commitWaitMillisSinceStart = Double(waits.time.microseconds) / 1000
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return jsonResponse(200, String(decoding: try encoder.encode(stats), as: UTF8.self))
        }
        router.get("/v1/summary") { _, _ in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            return jsonResponse(
                200, String(decoding: try encoder.encode(try await ingest.store.summary()), as: UTF8.self))
        }
        router.get("/v1/sync") { _, _ in
            jsonResponse(200, try await ingest.store.syncReport(sync.snapshot).json())
        }
        router.get("/v1/alerts") { request, _ in
            var status: AlertStatus?
            if let name = request.uri.queryParameters["status"].map(String.init) {
                guard let s = AlertStatus(name: name) else {
                    return jsonResponse(
                        400,
                        "{\"error\":{\"code\":\"invalid_request\",\"message\":\"status must be open, acknowledged or resolved\"}}"
                    )
                }
                status = s
            }
            let given = request.uri.queryParameters["limit"].map(String.init)
            let limit = given.map { Int($0) ?? 0 } ?? 500
            guard (1...10_000).contains(limit) else {
                return jsonResponse(
                    400,
                    "{\"error\":{\"code\":\"invalid_request\",\"message\":\"limit must be 1 to 10000\"}}")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let alerts = try await ingest.store.alerts(status: status, limit: limit)
            return jsonResponse(200, String(decoding: try encoder.encode(alerts), as: UTF8.self))
        }
        for (action, status) in [("acknowledge", AlertStatus.acknowledged), ("resolve", AlertStatus.resolved)] {
            router.post("/v1/alerts/:id/\(action)") { request, context in
                var request = request
                let id = context.parameters.get("id") ?? ""
                let body = try await request.collectBody(upTo: 64 * 1024)
                struct Change: Decodable { var note: String? }
                var note: String?
                if body.readableBytes > 0 {
                    let data = Data(body.readableBytesView)
                    guard let change = try? JSONDecoder().decode(Change.self, from: data) else {
                        return jsonResponse(
                            400,
                            "{\"error\":{\"code\":\"invalid_request\",\"message\":\"expected JSON {\\\"note\\\": string}\"}}"
                        )
                    }
                    // A misspelt key ("nota") changed the status and dropped the note without a word.
                    if let unknown = Self.unknownKeys(data, allowed: ["note"]).first {
                        return jsonResponse(
                            400,
                            "{\"error\":{\"code\":\"invalid_request\",\"message\":\"unknown key '\(jsonEscaped(unknown))': expected JSON {\\\"note\\\": string}; nothing was changed\"}}"
                        )
                    }
                    note = change.note
                }
                if let raw = note {
                    // Masked before it is stored, as event texts are; and within the protocol's limit, or the hub
                    // would refuse the batch that carries it for good and the store's sync would stall.
                    let masked = noteMasker.mask(raw).text
                    guard masked.utf8.count <= Self.maxNoteBytes else {
                        return jsonResponse(
                            400,
                            "{\"error\":{\"code\":\"invalid_field\",\"field\":\"note\",\"message\":\"note is \(masked.utf8.count) bytes (masked), longer than \(Self.maxNoteBytes)\"}}"
                        )
                    }
                    note = masked
                }
                guard
                    let alert = try await ingest.store.updateAlert(
                        id: id, status: status, note: note, node: ingest.store.identity.agentID)
                else {
                    return jsonResponse(
                        404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no alert with that id\"}}")
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return jsonResponse(200, String(decoding: try encoder.encode(alert), as: UTF8.self))
            }
        }
        router.get("/v1/config") { _, _ in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return jsonResponse(
                200, String(decoding: try encoder.encode(try await ingest.store.hubConfig()), as: UTF8.self))
        }
        router.post("/v1/events") { request, _ in
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: maxBody)
            } catch is NIOTooManyBytesError {
                return jsonResponse(
                    413, "{\"error\":{\"code\":\"body_too_large\",\"message\":\"body exceeds \(maxBody) bytes\"}}")
            }
            let contentType = request.headers[.contentType]
            let response = try await ingest.ingest(body: Array(buffer.readableBytesView), contentType: contentType)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            if let retry = response.retryAfterSeconds { headers[.retryAfter] = String(retry) }
            return Response(
                status: .init(code: response.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: response.jsonBytes())))
        }
        let config = ingest.configuration
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(config.listenHost, port: config.listenPort), serverName: "cx-agent"),
            onServerRunning: { channel in
                await onListening(channel.localAddress?.port ?? config.listenPort)
            },
            logger: logger)
    }

    /// The keys of a JSON object body outside `allowed`, sorted.
    static func unknownKeys(_ data: Data, allowed: Set<String>) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return object.keys.filter { !allowed.contains($0) }.sorted()
    }

    /// `text` as the inside of a JSON string.
    static func jsonEscaped(_ text: String) -> String {
        let data =
            (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst(2).dropLast(2), as: UTF8.self)
    }

    static func jsonResponse(_ status: Int, _ body: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Without an `api_token` the API answers loopback only, and only to local programs: a web page in a browser on the
/// box (kiosks run one) could otherwise post events or resolve every alert, since a `text/plain` POST needs no
/// preflight, and a page whose name resolves to 127.0.0.1 (DNS rebinding) could read the alerts too. Browsers send
/// `Origin` with such requests and the page's own name in `Host`: a request with an `Origin`, or a `Host` that is
/// not the loopback address the agent listens on, is refused (403). Producers on the box send neither.
struct LoopbackGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let listenHost: String

    static let loopbackNames: Set<String> = ["localhost", "127.0.0.1", "::1", "[::1]", "ip6-localhost"]

    /// The host part of a `Host` header, lowercased, without its port.
    static func hostName(_ header: String) -> String {
        let value = header.lowercased()
        if value.hasPrefix("["), let close = value.firstIndex(of: "]") { return String(value[...close]) }
        if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
            return String(value[..<colon])
        }
        return value
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if request.uri.path == "/v1/health" { return try await next(request, context) }
        if let origin = request.headers[.origin] {
            return AgentServer.jsonResponse(
                403,
                "{\"error\":{\"code\":\"cross_site_refused\",\"message\":\"a request with an Origin header (\(AgentServer.jsonEscaped(origin))) comes from a web page; this agent has no api_token, so it answers local programs only\"}}"
            )
        }
        let host = request.head.authority.map(Self.hostName) ?? ""
        guard Self.loopbackNames.contains(host) || host == listenHost.lowercased() else {
            return AgentServer.jsonResponse(
                403,
                "{\"error\":{\"code\":\"host_refused\",\"message\":\"Host '\(AgentServer.jsonEscaped(host))' is not this agent's loopback address; without an api_token it answers requests to 127.0.0.1 or localhost only\"}}"
            )
        }
        return try await next(request, context)
    }
}

/// Requires `Authorization: Bearer <api_token>` on every route but `/v1/health` when the agent has a token
/// (`api_token`, required to listen beyond loopback).
struct APITokenAuth: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: [UInt8]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if request.uri.path == "/v1/health" { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            ConstantTime.equal(header.utf8.dropFirst(7), token)
        else {
            return AgentServer.jsonResponse(
                401,
                "{\"error\":{\"code\":\"unauthorized\",\"message\":\"send the agent's api_token as 'Authorization: Bearer <token>'\"}}"
            )
        }
        return try await next(request, context)
    }
}
