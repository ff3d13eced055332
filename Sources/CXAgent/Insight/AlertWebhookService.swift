import AsyncAlgorithms
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// How a failed webhook delivery is retried, and when it is given up: a pure rule, the service only follows it.
///
/// A webhook that is down (no answer, 5xx, 408, 425, 429) is retried with exponential backoff (1 s doubling to
/// 5 min) for about a day; one that refuses the delivery itself (any other 4xx: a wrong path, a body it rejects; or
/// a redirect, which is not followed) cannot be fixed by retrying and is given up after a few attempts. Before, every delivery was retried for ever:
/// a misconfigured webhook grew the queue, which counts toward the buffer's quota, until ingest answered 503.
public struct WebhookRetryPolicy: Sendable, Hashable {
    public var baseMillis: Int64 = 1000
    public var maxDelayMillis: Int64 = 300_000
    /// About a day at the 5-minute cap.
    public var maxAttempts = 300
    /// For answers that retrying cannot change.
    public var maxAttemptsRefused = 5

    public init() {}

    public enum Decision: Sendable, Hashable {
        case retry(afterMillis: Int64)
        case abandon(reason: String)
    }

    /// `attempts`: how many attempts failed, this one included; `status`: the HTTP status, nil without an answer.
    public func decide(attempts: Int, status: Int?) -> Decision {
        let refused = status.map { (300..<500).contains($0) && ![408, 425, 429].contains($0) } ?? false
        if refused && attempts >= maxAttemptsRefused {
            return .abandon(reason: "the webhook refused it \(attempts) times (HTTP \(status!))")
        }
        if attempts >= maxAttempts { return .abandon(reason: "\(attempts) attempts failed") }
        let shift = min(attempts - 1, 20)
        return .retry(afterMillis: min(maxDelayMillis, baseMillis << shift))
    }
}

/// Delivers local alerts to the store's webhook, whether or not the hub is reachable.
///
/// Deliveries sit in the buffer database (`webhook_queue`) from the moment the alert is raised, so a restart
/// loses none; a failed one is retried or given up as `WebhookRetryPolicy` decides (given up: logged, counted in
/// `webhook_abandoned_total`, and the alert stays in the agent's API and goes to the hub as before).
public struct AlertWebhookService: Service {
    let store: BufferStore
    let url: String
    let logger: Logger
    let policy: WebhookRetryPolicy

    public init(store: BufferStore, url: String, logger: Logger, policy: WebhookRetryPolicy = WebhookRetryPolicy()) {
        self.store = store
        self.url = url
        self.logger = logger
        self.policy = policy
    }

    public func run() async throws {
        let client = Self.makeClient()
        for await _ in AsyncTimerSequence(interval: .milliseconds(500), clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await deliverDue(client)
            } catch {
                logger.error("webhook queue unreadable", metadata: ["error": "\(error)"])
            }
        }
        try? await client.shutdown()
    }

    /// The client deliveries go through. Redirects are not followed: AsyncHTTPClient turns a POST into a GET
    /// without the body on 301, 302 and 303, and that GET's 200 counted the alert delivered; it also went to any host
    /// the answer named.
    static func makeClient() -> HTTPClient {
        HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    }

    func deliverDue(_ client: HTTPClient) async throws {
        for delivery in try await store.dueWebhooks(now: BufferStore.nowMillis(), limit: 50) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "cx-alert-id", value: delivery.alertID)
            request.body = .bytes(ByteBuffer(bytes: delivery.body))
            var failure: String?
            var status: Int?
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                status = Int(response.status.code)
                if !(200..<300).contains(response.status.code) { failure = "HTTP \(response.status.code)" }
            } catch {
                failure = "\(error)"
            }
            guard let failure else {
                try await store.webhookDelivered(delivery.id)
                continue
            }
            switch policy.decide(attempts: delivery.attempts + 1, status: status) {
            case .retry(let after):
                try await store.webhookFailed(delivery.id, retryAt: BufferStore.nowMillis() + after, error: failure)
                logger.warning(
                    "alert webhook failed; will retry",
                    metadata: [
                        "alert_id": "\(delivery.alertID)", "attempt": "\(delivery.attempts + 1)", "error": "\(failure)",
                    ])
            case .abandon(let reason):
                try await store.webhookAbandoned(delivery.id)
                logger.error(
                    "alert webhook delivery given up",
                    metadata: ["alert_id": "\(delivery.alertID)", "reason": "\(reason)", "error": "\(failure)"])
            }
            // An endpoint that is down, failing or asking to slow down (no answer, 5xx, 408, 425, 429) would fail the
            // rest too, each spending an attempt: the pass ends. One that refused this delivery (other 3xx and 4xx)
            // may take the next ones.
            if status.map({ $0 >= 500 || $0 == 408 || $0 == 425 || $0 == 429 }) ?? true { return }
        }
    }
}

extension AlertWebhookService: CustomStringConvertible {
    /// What ServiceLifecycle logs for this service: the webhook's scheme, host and port only (its secret is in the
    /// rest).
    public var description: String { "AlertWebhookService(url: \(AgentConfiguration.shownURL(url)))" }
}
