import ArgumentParser
import CXAgent
import CXConfiguration
import Foundation
import Logging

/// `cx-agent`: the edge agent beside kiosks and POS terminals.
@main
struct CXAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-agent",
        abstract: "cxsync edge agent: buffers customer-interaction events durably and syncs them to a hub.",
        subcommands: [
            Run.self, Enroll.self, Ingest.self, Analyze.self, Status.self, SyncStatus.self, Sample.self,
            PrintConfig.self,
        ]
    )
}

/// Options every subcommand shares: where the configuration comes from and the most used overrides.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (settings: see agent/cx-agent.example.yaml).")
    var config: String?

    @Option(name: .long, help: "Data directory (buffer database, identity). Env: CX_AGENT_DATA_DIRECTORY.")
    var dataDir: String?

    @Option(name: .long, help: "The store this agent serves. Env: CX_AGENT_STORE_ID.")
    var store: String?

    @Option(name: .long, help: "Listen address of the local API. Env: CX_AGENT_LISTEN_HOST.")
    var listenHost: String?

    @Option(name: .long, help: "Listen port of the local API, 0 for any free port. Env: CX_AGENT_LISTEN_PORT.")
    var listenPort: Int?

    @Option(name: .long, help: "Disk budget of the buffer in bytes. Env: CX_AGENT_QUOTA_BYTES.")
    var quotaBytes: Int64?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical. Env: CX_AGENT_LOG_LEVEL.")
    var logLevel: String?

    /// Defaults, file, environment, then these flags; validated once (a flag may correct a bad value from the
    /// environment), an error naming the flag, variable or file that gave the bad value.
    func load() throws -> AgentConfiguration {
        let given: [(String, String, Bool)] = [
            ("data_directory", "--data-dir", dataDir != nil), ("store_id", "--store", store != nil),
            ("listen_host", "--listen-host", listenHost != nil), ("listen_port", "--listen-port", listenPort != nil),
            ("quota_bytes", "--quota-bytes", quotaBytes != nil), ("log_level", "--log-level", logLevel != nil),
        ]
        return try AgentConfiguration.load(
            file: config, environment: ProcessInfo.processInfo.environment,
            flags: Dictionary(uniqueKeysWithValues: given.filter(\.2).map { ($0.0, $0.1) })
        ) { c in
            if let dataDir { c.dataDirectory = dataDir }
            if let store { c.storeID = store }
            if let listenHost { c.listenHost = listenHost }
            if let listenPort { c.listenPort = listenPort }
            if let quotaBytes { c.quotaBytes = quotaBytes }
            if let logLevel { c.logLevel = logLevel }
        }
    }

    func logger(_ c: AgentConfiguration) -> Logger {
        var logger = Logger(label: "cx-agent")
        logger.logLevel = Logger.Level(rawValue: c.logLevel) ?? .info
        return logger
    }
}

extension CXAgentCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Serve the local ingest API until SIGTERM/SIGINT.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            let c = try options.load()
            let logger = options.logger(c)
            for warning in AgentConfiguration.unknownEnvironmentVariables(ProcessInfo.processInfo.environment) {
                logger.warning("\(warning)")
            }
            try await AgentRuntime(configuration: c, logger: logger).run()
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the buffer's figures as JSON.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let c = try options.load()
            let client = try LocalAgentClient(configuration: c, logger: options.logger(c))
            defer { client.shutdown() }
            print(try await client.statusJSON())
        }
    }

    struct SyncStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync-status",
            abstract: "Print the sync state as JSON: what the hub holds, the batch in flight, the last error, counters."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let c = try options.load()
            let client = try LocalAgentClient(configuration: c, logger: options.logger(c))
            defer { client.shutdown() }
            print(try await client.syncJSON())
        }
    }

    struct PrintConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "print-config",
            abstract: "Print the effective configuration (defaults, file, environment, flags).")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            print(try options.load().yaml())
        }
    }
}
