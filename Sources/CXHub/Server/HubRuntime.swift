import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Wires the hub into one service group that stops gracefully on SIGTERM or SIGINT, letting in-flight merges
/// finish and commit before the process exits.
public struct HubRuntime: Sendable {
    public let configuration: HubConfiguration
    public let logger: Logger

    public init(configuration: HubConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let c = configuration
        guard FileManager.default.fileExists(atPath: c.databasePath) else {
            throw HubError(
                "not_initialized", "no hub database at \(c.databasePath); run `cx-hub init` first", status: 500)
        }
        // Migrations run here, before the listener opens.
        let store = try HubStore.open(
            path: c.databasePath, cacheKiB: c.cacheKiB, maxClockDrift: c.maxClockDrift,
            defaultCountryCode: c.countryCode)
        let tls = try HubServer.tlsConfiguration(certificate: c.certificatePath, key: c.keyPath)
        let logger = logger
        let ctx = HubServer.Context(store: store, configuration: c, logger: logger)
        let app = try HubServer.application(ctx, tls: tls) { port in
            logger.notice(
                "cx-hub listening",
                metadata: ["address": "https://\(c.listenHost):\(port)", "hub_id": "\(store.hubID)"])
            FileHandle.standardOutput.write(Data("cx-hub listening on \(c.listenHost):\(port)\n".utf8))
        }
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try store.close()
    }

    /// `cx-hub init`: data directory, database (migrated), TLS material unless given, operator token.
    /// Returns the operator token when it was created now (it is shown once and written 0600 to `admin.token`).
    public static func initialize(_ c: HubConfiguration, hostnames: [String]) throws -> (
        token: String?, createdTLS: Bool
    ) {
        let fm = FileManager.default
        // A certificate and key of the operator's own are read now: `init` said "using" paths that did not exist and
        // exited 0, and the first `run` failed.
        if !c.tlsCertificate.isEmpty {
            _ = try HubServer.tlsConfiguration(certificate: c.certificatePath, key: c.keyPath)
        }
        try fm.createDirectory(
            atPath: c.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try HubStore.open(
            path: c.databasePath, cacheKiB: c.cacheKiB, maxClockDrift: c.maxClockDrift,
            defaultCountryCode: c.countryCode)
        defer { try? store.close() }
        var createdTLS = false
        if c.tlsCertificate.isEmpty && !fm.fileExists(atPath: c.certificatePath) {
            let certs = try HubCertificates.generate(dnsNames: ["localhost"] + hostnames)
            try certs.write(to: c.dataDirectory + "/tls")
            createdTLS = true
        }
        let token = try store.createAdminTokenIfMissing()
        if let token {
            try HubCertificates.writeFile(c.dataDirectory + "/admin.token", token + "\n", mode: 0o600)
        }
        return (token, createdTLS)
    }
}
