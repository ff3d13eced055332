import CXInsight
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Wires the agent's parts into one service group that stops gracefully on SIGTERM or SIGINT.
public struct AgentRuntime: Sendable {
    public let configuration: AgentConfiguration
    public let logger: Logger

    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Opens (or recovers) the buffer, then serves until a shutdown signal; migrations run before listening.
    public func run() async throws {
        guard let lock = try AgentLock.acquire(directory: configuration.dataDirectory) else {
            throw BufferError(
                code: "already_running",
                message: "another cx-agent is running on \(configuration.dataDirectory) (agent.lock is held)")
        }
        let store = try BufferStore.open(
            directory: configuration.dataDirectory, quotaBytes: configuration.quotaBytes,
            cacheKiB: configuration.cacheKiB, maxClockDrift: configuration.maxClockDrift, logger: logger)
        if let r = store.recovery {
            logger.error(
                "started after recovering a damaged buffer",
                metadata: ["recovered": "\(r.recovered)", "lost": "\(r.lost)", "quarantined": "\(r.quarantinedPath)"])
        }
        let credentials = try AgentCredentials.load(directory: configuration.dataDirectory)
        let configuration = try configuration.bound(to: credentials)
        let monitor = SyncMonitor()
        let ingest = try IngestService(store: store, configuration: configuration, credentials: credentials)
        if ingest.enricher != nil && store.themeCodebook.count == 0 {
            logger.warning("theme codes could not be registered: themes are stored inline (larger rows, same content)")
        }
        let storeID = configuration.storeID
        let logger = logger
        // Hub-set alert settings take effect at start-up and whenever an acknowledgement brings new ones.
        let applyHubSettings: @Sendable () async -> Void = {
            guard let enricher = ingest.enricher else { return }
            do {
                let settings = HubAlertSettings(entries: try await store.hubConfig(), storeID: storeID)
                let rules = enricher.apply(settings)
                logger.info("alert rules from hub settings", metadata: ["rules": "\(rules.map(\.id))"])
                for problem in settings.problems {
                    logger.warning("hub setting not applied", metadata: ["problem": "\(problem)"])
                }
            } catch {
                logger.error("cannot read hub settings", metadata: ["error": "\(error)"])
            }
        }
        await applyHubSettings()
        var services: [any Service] = [CheckpointService(store: store, logger: logger)]
        if let credentials, configuration.syncEnabled {
            services.append(
                SyncService(
                    store: store, configuration: configuration, credentials: credentials,
                    caFile: AgentCredentials.caPath(directory: configuration.dataDirectory), monitor: monitor,
                    logger: logger, configurationChanged: applyHubSettings))
        } else {
            monitor.update { $0.state = credentials == nil ? "not_enrolled" : "disabled" }
            logger.notice(
                credentials == nil
                    ? "not enrolled with a hub: buffering only (cx-agent enroll --hub URL --token T --ca FILE)"
                    : "sync is disabled (sync_enabled: false): buffering only")
        }
        if !configuration.alertWebhookURL.isEmpty {
            services.append(AlertWebhookService(store: store, url: configuration.alertWebhookURL, logger: logger))
        }
        let identity = store.identity
        let app = AgentServer.application(ingest: ingest, sync: monitor, logger: logger) { port in
            logger.notice(
                "cx-agent listening",
                metadata: [
                    "address": "\(ingest.configuration.listenHost):\(port)", "agent_id": "\(identity.agentID)",
                    "epoch": "\(identity.epoch)",
                ])
            // Where `cx-agent status`, `ingest` and `sync-status` find it, whatever port their configuration names;
            // written before the line below, so that whoever acts on that line finds the file.
            let host = ingest.configuration.listenHost
            let address = (host.contains(":") ? "[\(host)]" : host) + ":\(port)\n"
            let file = (ingest.configuration.dataDirectory as NSString).appendingPathComponent(
                LocalAgentClient.addressFile)
            do {
                try address.write(toFile: file, atomically: true, encoding: .utf8)
            } catch {
                logger.warning("cannot write the listen address", metadata: ["file": "\(file)", "error": "\(error)"])
            }
            // A machine-readable line for supervisors and tests that start the agent on port 0.
            FileHandle.standardOutput.write(
                Data("cx-agent listening on \(ingest.configuration.listenHost):\(port)\n".utf8))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [app as any Service] + services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
        try store.close()
        withExtendedLifetime(lock) {}
    }
}
