import CXCore
import CXInsight
import CXProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// The hub's HTTPS API: enrollment and sync for agents, a query API for CX leads (operator token).
public enum HubServer {
    /// Everything the routes need.
    public struct Context: Sendable {
        public var store: HubStore
        public var configuration: HubConfiguration
        public var sync: SyncEndpoint
        public var logger: Logger

        public init(store: HubStore, configuration: HubConfiguration, logger: Logger) {
            self.store = store
            self.configuration = configuration
            self.logger = logger
            self.sync = SyncEndpoint(
                store: store,
                decoder: FrameDecoder(limits: Self.limits(configuration)),
                policy: MergePolicy(
                    maxDriftMillis: Int64(configuration.maxClockDrift.components.seconds) * 1000,
                    skewThresholdMillis: Int64(configuration.skewThreshold.components.seconds) * 1000,
                    maxDownstreamItems: configuration.maxDownstreamItems),
                logger: logger)
        }

        static func limits(_ c: HubConfiguration) -> ProtocolLimits {
            var l = ProtocolLimits.default
            l.maxFrameBytes = min(l.maxFrameBytes, c.maxFrameBytes)
            return l
        }
    }

    /// The server TLS configuration from PEM files; TLS 1.2 is the floor.
    public static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw HubError("tls_error", "cannot read the TLS certificate \(certificate): \(error)", status: 500)
        }
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw HubError("tls_error", "cannot read the TLS key \(key): \(error)", status: 500)
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// The routes, shared by the TLS server and tests.
    public static func router(_ ctx: Context) -> Router<BasicRequestContext> {
        let router = Router()
        let store = ctx.store
        // The limit the decoder applies (the protocol's 8 MiB or a smaller configured one): a larger body is refused
        // before it is read, not after, from callers not yet authenticated.
        let maxFrame = Context.limits(ctx.configuration).maxFrameBytes
        let syncBytes = ByteBudget(limit: ctx.configuration.maxSyncBytesInFlight)
        router.get("/v1/health") { _, _ in
            json(200, ["status": "ok", "hub_id": store.hubID])
        }
        router.post("/v1/enroll") { request, _ in
            var request = request
            guard let body = try? await request.collectBody(upTo: 64 * 1024) else {
                return error(HubError("invalid_request", "enrollment body exceeds 64 KiB", status: 413))
            }
            struct EnrollRequest: Decodable {
                var token: String
                var agent_id: String
                var public_key: String
            }
            guard let req = try? JSONDecoder().decode(EnrollRequest.self, from: Data(body.readableBytesView)) else {
                return error(
                    HubError(
                        "invalid_request",
                        "expected JSON {\"token\": string, \"agent_id\": string, \"public_key\": base64}", status: 400))
            }
            guard let key = Data(base64Encoded: req.public_key) else {
                return error(HubError("invalid_request", "public_key is not base64", status: 400))
            }
            do {
                let agent = try await store.enroll(token: req.token, agentID: req.agent_id, publicKey: [UInt8](key))
                ctx.logger.notice(
                    "agent enrolled",
                    metadata: [
                        "agent_id": "\(agent.agentID)", "store": "\(agent.storeID)", "device": "\(agent.deviceID)",
                    ])
                return json(
                    200,
                    [
                        "agent_id": agent.agentID, "store_id": agent.storeID, "device_id": agent.deviceID,
                        "hub_id": store.hubID, "fleet_key": store.fleetKey,
                    ])
            } catch let e as HubError {
                return error(e, ctx.logger)
            }
        }
        router.post("/v1/sync") { request, _ in
            if let refusal = ctx.sync.checkVersionHeader(request.headers[HTTPField.Name("CX-Protocol")!]) {
                return frame(refusal)
            }
            if let length = request.headers[.contentLength].flatMap(Int.init), length > maxFrame {
                return frame(
                    ctx.sync.refusal(
                        HubError(
                            "frame_too_large", "body of \(length) bytes exceeds the limit of \(maxFrame)", status: 413))
                )
            }
            // Bodies are read before the signature can be checked: what all requests hold at once is bounded (1,000
            // callers x 8 MiB would otherwise be 8 GiB), each holds only what it has sent, and a body must arrive
            // within a deadline that allows 16 KiB/s.
            let declared = request.headers[.contentLength].flatMap(Int.init)
            let length = declared ?? maxFrame
            let body: ByteBuffer
            do throws(SyncBodyRefusal) {
                body = try await syncBytes.collect(
                    request.body, upTo: maxFrame, deadline: ByteBudget.bodyDeadline(length: length))
            } catch {
                switch error {
                case .tooLarge:
                    return frame(
                        ctx.sync.refusal(
                            HubError("frame_too_large", "body exceeds the limit of \(maxFrame) bytes", status: 413)))
                case .overloaded:
                    ctx.logger.warning("sync request shed", metadata: ["bytes_in_flight_limit": "\(syncBytes.limit)"])
                    return frame(ctx.sync.overloaded(retryAfterSeconds: 1))
                case .tooSlow(let deadline):
                    let body = declared.map { "the body of \($0) bytes" } ?? "the body"
                    return frame(
                        ctx.sync.refusal(
                            HubError(
                                "request_timeout",
                                "\(body) did not arrive within \(deadline.components.seconds) s (16 KiB/s after 30 s)",
                                status: 408)))
                case .unreadable(let why):
                    ctx.logger.notice("sync body unreadable", metadata: ["error": "\(why)"])
                    return frame(
                        ctx.sync.refusal(
                            HubError("truncated_frame", "the body could not be read whole: \(why)", status: 400)))
                }
            }
            defer { syncBytes.release(body.readableBytes) }
            return frame(await ctx.sync.handle(Array(body.readableBytesView)))
        }
        let api = router.group("/v1").add(middleware: OperatorAuth(store: store))
        api.get("fleet") { _, _ in
            try encode(200, try await store.fleet(staleAfter: ctx.configuration.staleAfter))
        }
        api.get("events/counts") { request, _ in
            let q = request.uri.queryParameters
            let since = try timeParameter(q["since"].map(String.init), "since")
            let until = try timeParameter(q["until"].map(String.init), "until")
            return try encode(
                200, try await store.eventCounts(since: since, until: until, store: q["store"].map(String.init)))
        }
        api.get("customers/:id/timeline") { request, context in
            let raw = try context.parameters.require("id")
            let id = HubStore.normalizedCustomerID(raw.removingPercentEncoding ?? raw)
            let given = request.uri.queryParameters["limit"].map(String.init)
            let limit = given.map { Int($0) ?? 0 } ?? 200
            guard (1...10_000).contains(limit) else {
                return error(
                    HubError("invalid_request", "limit must be 1 to 10000, not '\(given ?? "")'", status: 400))
            }
            // Agents store customer identifiers as keyed hashes: a CX lead may ask by the identifier itself
            // (e-mail, phone, loyalty id), which the hub hashes with the fleet key the same way.
            if let key = store.customerKey(for: id), key != id {
                let timeline = try await store.customerTimeline(key, limit: limit)
                if !timeline.isEmpty { return try encode(200, timeline) }
            }
            return try encode(200, try await store.customerTimeline(id, limit: limit))
        }
        api.post("customers/:id/erase") { _, context in
            let raw = try context.parameters.require("id")
            let id = HubStore.normalizedCustomerID(raw.removingPercentEncoding ?? raw)
            // Erased under the keyed hash agents store; events stored under the identifier itself (agents without
            // enrichment) go too, but the tombstone, kept forever and sent to every store, holds only the hash.
            let key = store.customerKey(for: id)
            let subject = key ?? id
            // The timeline shows these as one customer; the erasure takes this identifier and its links only, and
            // says which linked identifiers stay (links come from stores, and may join two people).
            var linked = try await store.linkedIdentifiers(of: subject)
            if key != nil { linked += try await store.linkedIdentifiers(of: id).filter { !linked.contains($0) } }
            linked.removeAll { $0 == subject || $0 == id }
            let erased = try await store.erase(subject: subject, unhashed: key == nil ? nil : id)
            ctx.logger.notice("customer erased", metadata: ["events": "\(erased)"])
            struct Answer: Encodable {
                var subject: String
                var events_deleted: Int
                var linked_kept: [String]
            }
            return try encode(200, Answer(subject: subject, events_deleted: erased, linked_kept: linked))
        }
        api.get("alerts") { request, _ in
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, AlertStatus(name: status) == nil {
                return error(HubError("invalid_request", "status must be open, acknowledged or resolved", status: 400))
            }
            // Filtered here, not by the caller after the 1,000 newest of every store.
            let only = request.uri.queryParameters["store"].map(String.init)
            return try encode(200, try await store.alerts(status: status, store: only, limit: 1000))
        }
        for (action, status) in [("acknowledge", AlertStatus.acknowledged), ("resolve", .resolved), ("update", nil)] {
            api.post("alerts/:id/\(action)") { request, context in
                let id = try context.parameters.require("id")
                var request = request
                let body = try await request.collectBody(upTo: 64 * 1024)
                struct Change: Decodable {
                    var note: String?
                    var assignee: String?
                }
                let change =
                    body.readableBytes == 0
                    ? Change() : (try? JSONDecoder().decode(Change.self, from: Data(body.readableBytesView)))
                guard let change else {
                    return error(
                        HubError(
                            "invalid_request", "expected JSON {\"note\"?: string, \"assignee\"?: string}", status: 400))
                }
                // A misspelt key ("asignee") changed the status and dropped the owner without a word.
                if body.readableBytes > 0,
                    let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))
                        as? [String: Any],
                    let unknown = object.keys.filter({ $0 != "note" && $0 != "assignee" }).sorted().first
                {
                    return error(
                        HubError(
                            "invalid_request",
                            "unknown key '\(unknown)': expected JSON {\"note\"?: string, \"assignee\"?: string}; nothing was changed",
                            status: 400))
                }
                // They go downstream to the store's agents: within what the protocol carries (PROTOCOL.md §6.2).
                let limits = [("note", change.note, EventLimits().maxTextLength), ("assignee", change.assignee, 256)]
                for (field, value, limit) in limits {
                    if let value, value.utf8.count > limit {
                        return error(
                            HubError(
                                "invalid_field", "\(field) is \(value.utf8.count) bytes, longer than \(limit)",
                                status: 400))
                    }
                }
                do {
                    try await store.updateAlert(id: id, status: status, note: change.note, assignee: change.assignee)
                } catch let e as HubError {
                    return error(e, ctx.logger)
                }
                // The alert as it now stands, so that a caller need not look for it among the newest alerts.
                guard let changed = try await store.alert(id: id) else {
                    return json(200, ["alert_id": id, "result": "ok"])
                }
                return try encode(200, AlertChanged(alert: changed))
            }
        }
        api.get("config") { _, _ in try encode(200, try await store.configEntries()) }
        api.put("config/:scope/:name") { request, context in
            let scope = try context.parameters.require("scope")
            let name = try context.parameters.require("name")
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            /// `value` must be present: null removes the setting, so a misspelt key must not read as null.
            struct Value: Decodable {
                var value: String?
                enum CodingKeys: CodingKey { case value }
                init(from decoder: any Decoder) throws {
                    let c = try decoder.container(keyedBy: CodingKeys.self)
                    guard c.contains(.value) else {
                        throw DecodingError.keyNotFound(
                            CodingKeys.value, .init(codingPath: [], debugDescription: "no value"))
                    }
                    value = try c.decode(String?.self, forKey: .value)
                }
            }
            guard let v = try? JSONDecoder().decode(Value.self, from: Data(body.readableBytesView)) else {
                return error(
                    HubError(
                        "invalid_request",
                        "expected JSON {\"value\": string or null} (null removes the setting); the key \"value\" is required",
                        status: 400))
            }
            if let value = v.value, let problem = AlertRule.settingProblem(name: name, value: value) {
                // An agent would not apply it either; one that trapped on it would do so at every start.
                return error(HubError("invalid_setting", "\(name): \(problem)", status: 400))
            }
            try await store.setConfig(scope: scope, name: name, value: v.value)
            return json(200, ["scope": scope, "name": name, "result": "ok"])
        }
        return router
    }

    static func timeParameter(_ value: String?, _ name: String) throws -> Int64? {
        guard let value else { return nil }
        if let ms = RFC3339.parseMillis(value) { return ms }
        if let ms = Int64(value) { return ms }
        throw HTTPError(.badRequest, message: "\(name) must be an RFC 3339 time or Unix milliseconds, got '\(value)'")
    }

    static func frame(_ reply: SyncEndpoint.Reply) -> Response {
        var headers: HTTPFields = [.contentType: "application/x-cxsync-frame", HTTPField.Name("CX-Protocol")!: "1.1"]
        if let seconds = reply.retryAfterSeconds { headers[.retryAfter] = String(seconds) }
        return Response(
            status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.frame))
        )
    }

    static func json(_ status: Int, _ object: [String: String]) -> Response {
        (try? encode(status, object)) ?? Response(status: .internalServerError)
    }

    static func encode(_ status: Int, _ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// The JSON refusal; a failure of the hub itself (5xx) is logged with its cause, which the answer leaves out.
    static func error(_ e: HubError, _ logger: Logger? = nil) -> Response {
        if e.httpStatus >= 500 { logger?.error("request failed", metadata: e.logMetadata) }
        return json(e.httpStatus, ["code": e.code, "message": e.message])
    }

    /// The HTTPS application; `onListening` receives the bound port (useful with port 0).
    public static func application(
        _ ctx: Context, tls: TLSConfiguration, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let c = ctx.configuration
        return Application(
            router: router(ctx),
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(c.listenHost, port: c.listenPort), serverName: "cx-hub"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? c.listenPort) },
            logger: ctx.logger)
    }
}

/// Requires `Authorization: Bearer <operator token>` on the query API.
struct OperatorAuth: RouterMiddleware {
    typealias Context = BasicRequestContext
    let store: HubStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return HubServer.error(
                HubError("unauthorized", "send the operator token as 'Authorization: Bearer <token>'", status: 401))
        }
        guard try await store.isAdminToken(String(header.dropFirst(7))) else {
            return HubServer.error(
                HubError("unauthorized", "the operator token is not valid for this hub", status: 401))
        }
        return try await next(request, context)
    }
}

/// The answer to an alert change: the alert as it now stands, and `result: ok` as before.
struct AlertChanged: Encodable {
    var alert: AlertRow

    enum Keys: String, CodingKey { case result }

    func encode(to encoder: any Encoder) throws {
        try alert.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode("ok", forKey: .result)
    }
}
