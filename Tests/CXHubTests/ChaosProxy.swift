import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Synchronization

/// An HTTPS proxy between agents and the hub that misbehaves on purpose: it drops requests, drops responses
/// after the hub processed the request, duplicates requests, and delays requests by random amounts so that
/// concurrent agents' requests overtake each other (reordering). It terminates TLS with the hub's own
/// certificate, so agents trust it with the hub's CA.
final class ChaosProxy: Sendable {
    struct Odds: Sendable {
        var dropRequest = 0.08
        var dropResponse = 0.08
        var duplicate = 0.08
        var delay = 0.25
        var maxDelay: Duration = .milliseconds(400)
    }

    struct Counts: Sendable {
        var forwarded = 0
        var droppedRequests = 0
        var droppedResponses = 0
        var duplicated = 0
        var delayed = 0
    }

    /// What the routes share with the test.
    final class State: Sendable {
        let counts = Mutex(Counts())
        let enabled = Mutex(true)
        let port = Mutex(0)
    }

    let target: String
    let odds: Odds
    let state = State()
    let client: HTTPClient
    private let group: ServiceGroup
    private let runner: Task<Void, any Error>

    init(targetURL: String, caPath: String, certificate: String, key: String, odds: Odds = Odds()) async throws {
        target = targetURL
        self.odds = odds
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.timeout = .init(connect: .seconds(2), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        self.client = client
        var serverTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        serverTLS.minimumTLSVersion = .tlsv12
        let router = Router()
        let state = self.state
        let odds = self.odds
        router.on("**", method: .post) { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 20)
            guard state.enabled.withLock({ $0 }) else { throw HTTPError(.badGateway, message: "link down") }
            var rng = SystemRandomNumberGenerator()
            if Double.random(in: 0..<1, using: &rng) < odds.delay {
                state.counts.withLock { $0.delayed += 1 }
                let ms = Int64.random(
                    in:
                        1...Int64(
                            odds.maxDelay.components.seconds * 1000 + odds.maxDelay.components.attoseconds
                                / 1_000_000_000_000_000), using: &rng)
                try await Task.sleep(for: .milliseconds(ms))
            }
            if Double.random(in: 0..<1, using: &rng) < odds.dropRequest {
                state.counts.withLock { $0.droppedRequests += 1 }
                throw HTTPError(.badGateway, message: "request dropped by the chaos proxy")
            }
            var forward = HTTPClientRequest(url: targetURL + request.uri.description)
            forward.method = .POST
            for field in request.headers where !["host", "content-length"].contains(field.name.canonicalName) {
                forward.headers.add(name: field.name.rawName, value: field.value)
            }
            let bytes = Array(body.readableBytesView)
            func send() async throws -> (HTTPResponseStatus, HTTPHeaders, ByteBuffer) {
                var f = forward
                f.body = .bytes(ByteBuffer(bytes: bytes))
                let r = try await client.execute(f, timeout: .seconds(30))
                return (r.status, r.headers, try await r.body.collect(upTo: 64 << 20))
            }
            var (status, headers, answer) = try await send()
            if Double.random(in: 0..<1, using: &rng) < odds.duplicate {
                state.counts.withLock { $0.duplicated += 1 }
                (status, headers, answer) = try await send()
            }
            if Double.random(in: 0..<1, using: &rng) < odds.dropResponse {
                state.counts.withLock { $0.droppedResponses += 1 }
                throw HTTPError(.badGateway, message: "response dropped by the chaos proxy")
            }
            state.counts.withLock { $0.forwarded += 1 }
            var out = HTTPFields()
            for h in headers where h.name.lowercased() != "content-length" && h.name.lowercased() != "connection" {
                if let n = HTTPField.Name(h.name) { out[n] = h.value }
            }
            return Response(status: .init(code: Int(status.code)), headers: out, body: .init(byteBuffer: answer))
        }
        var logger = Logger(label: "chaos-proxy")
        logger.logLevel = .critical
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: serverTLS),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in state.port.withLock { $0 = channel.localAddress?.port ?? 0 } },
            logger: logger)
        group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let g = group
        runner = Task { try await g.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while state.port.withLock({ $0 }) == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    var url: String { "https://127.0.0.1:\(state.port.withLock { $0 })" }
    var counts: Counts { state.counts.withLock { $0 } }

    func shutdown() async throws {
        await group.triggerGracefulShutdown()
        _ = await runner.result
        try await client.shutdown()
    }
}
