import AsyncAlgorithms
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Delivers local alerts to the store's webhook, whether or not the hub is reachable.
///
/// Deliveries sit in the buffer database (`webhook_queue`) from the moment the alert is raised, so a restart
/// loses none; each is retried with exponential backoff (1 s doubling to 5 min) until the webhook answers 2xx.
public struct AlertWebhookService: Service {
    let store: BufferStore
    let url: String
    let logger: Logger

    public init(store: BufferStore, url: String, logger: Logger) {
        self.store = store
        self.url = url
        self.logger = logger
    }

    public func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        for await _ in AsyncTimerSequence(interval: .milliseconds(500), clock: .continuous).cancelOnGracefulShutdown() {
            do {
                try await deliverDue(client)
            } catch {
                logger.error("webhook queue unreadable", metadata: ["error": "\(error)"])
            }
        }
        try? await client.shutdown()
    }

    func deliverDue(_ client: HTTPClient) async throws {
        for delivery in try await store.dueWebhooks(now: BufferStore.nowMillis(), limit: 50) {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "cx-alert-id", value: delivery.alertID)
            request.body = .bytes(ByteBuffer(bytes: delivery.body))
            var failure: String?
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if !(200..<300).contains(response.status.code) { failure = "HTTP \(response.status.code)" }
            } catch {
                failure = "\(error)"
            }
            if let failure {
                let delay = Int64(min(300_000, 1000 << min(delivery.attempts, 9)))
                try await store.webhookFailed(delivery.id, retryAt: BufferStore.nowMillis() + delay, error: failure)
                logger.warning(
                    "alert webhook failed; will retry",
                    metadata: [
                        "alert_id": "\(delivery.alertID)", "attempt": "\(delivery.attempts + 1)", "error": "\(failure)",
                    ])
                return
            }
            try await store.webhookDelivered(delivery.id)
        }
    }
}
