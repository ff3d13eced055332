import ArgumentParser
import CXConfiguration
import CXHub
import Foundation
import Logging

/// `cx-hub`: merges the streams of many store agents into one source of truth.
@main
struct CXHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx-hub",
        abstract: "cxsync hub: enrolls agents, merges their batches over HTTPS, serves the query API.",
        subcommands: [Init.self, Run.self, Agents.self, PrintConfig.self]
    )
}

/// Options every subcommand shares.
struct HubOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (see hub/cx-hub.example.yaml).")
    var config: String?

    @Option(name: .long, help: "Data directory (database, TLS material, operator token). Env: CX_HUB_DATA_DIRECTORY.")
    var dataDir: String?

    @Option(name: .long, help: "Listen address. Env: CX_HUB_LISTEN_HOST.")
    var listenHost: String?

    @Option(name: .long, help: "Listen port, 0 for any free port. Env: CX_HUB_LISTEN_PORT.")
    var listenPort: Int?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical. Env: CX_HUB_LOG_LEVEL.")
    var logLevel: String?

    /// Defaults, file, environment, then these flags; validated once (a flag may correct a bad value from the
    /// environment), an error naming the flag, variable or file that gave the bad value.
    func load() throws -> HubConfiguration {
        let given: [(String, String, Bool)] = [
            ("data_directory", "--data-dir", dataDir != nil), ("listen_host", "--listen-host", listenHost != nil),
            ("listen_port", "--listen-port", listenPort != nil), ("log_level", "--log-level", logLevel != nil),
        ]
        return try HubConfiguration.load(
            file: config, environment: ProcessInfo.processInfo.environment,
            flags: Dictionary(uniqueKeysWithValues: given.filter(\.2).map { ($0.0, $0.1) })
        ) { c in
            if let dataDir { c.dataDirectory = dataDir }
            if let listenHost { c.listenHost = listenHost }
            if let listenPort { c.listenPort = listenPort }
            if let logLevel { c.logLevel = logLevel }
        }
    }

    func logger(_ c: HubConfiguration) -> Logger {
        var logger = Logger(label: "cx-hub")
        logger.logLevel = Logger.Level(rawValue: c.logLevel) ?? .info
        return logger
    }
}

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the data directory, database, TLS certificate (unless given) and operator token.")

    @OptionGroup var options: HubOptions

    @Option(name: .long, help: "Extra DNS name for the generated certificate (repeatable).")
    var hostname: [String] = []

    func run() async throws {
        let c = try options.load()
        let (token, createdTLS) = try HubRuntime.initialize(c, hostnames: hostname)
        print("data directory: \(c.dataDirectory)")
        if createdTLS {
            print("TLS: generated a private CA and server certificate in \(c.dataDirectory)/tls")
            print("     give \(c.dataDirectory)/tls/ca.pem to agents (`cx-agent enroll --ca`) and to `cx login --ca`")
        } else {
            print("TLS: using \(c.certificatePath)")
        }
        if let token {
            print("operator token (shown once; also in \(c.dataDirectory)/admin.token, mode 0600):")
            print(token)
        } else {
            print("operator token: already set (unchanged)")
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the hub over HTTPS until SIGTERM or SIGINT.")

    @OptionGroup var options: HubOptions

    func run() async throws {
        let c = try options.load()
        let logger = options.logger(c)
        // `cx` reads CX_HUB_URL: a shell set up for the CLI starts the hub with it
        let others: Set<String> = ["CX_HUB_URL"]
        for warning in HubConfiguration.unknownEnvironmentVariables(ProcessInfo.processInfo.environment, others: others)
        {
            logger.warning("\(warning)")
        }
        try await HubRuntime(configuration: c, logger: logger).run()
    }
}

struct PrintConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "print-config", abstract: "Print the effective configuration as YAML.")

    @OptionGroup var options: HubOptions

    func run() async throws {
        print(try options.load().yaml(), terminator: "")
    }
}

struct Agents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enroll, list and revoke agents.", subcommands: [Enroll.self, List.self, Revoke.self])

    static func open(_ c: HubConfiguration) throws -> HubStore {
        guard FileManager.default.fileExists(atPath: c.databasePath) else {
            throw ValidationError("no hub database at \(c.databasePath); run `cx-hub init` first")
        }
        return try HubStore.open(
            path: c.databasePath, cacheKiB: 4096, maxClockDrift: c.maxClockDrift, defaultCountryCode: c.countryCode)
    }

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a one-time, expiring token that enrolls one agent for a store and device.")

        @OptionGroup var options: HubOptions
        @Option(name: .long, help: "The store the agent will write for.") var store: String
        @Option(name: .long, help: "The device (kiosk, POS box...) the agent runs on.") var device: String
        @Option(name: .long, help: "Validity in seconds (default: enrollment_token_ttl_seconds).") var ttl: Int64?

        func run() async throws {
            let c = try options.load()
            let hub = try Agents.open(c)
            defer { try? hub.close() }
            let token = try hub.issueEnrollmentToken(
                store: store, device: device, ttl: ttl.map { .seconds($0) } ?? c.enrollmentTokenTTL)
            print(token.token)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrolled agents.")

        @OptionGroup var options: HubOptions
        @Flag(name: .long, help: "JSON output.") var json = false

        func run() async throws {
            let c = try options.load()
            let hub = try Agents.open(c)
            defer { try? hub.close() }
            let agents = try hub.agentsNow()
            if json {
                struct Item: Encodable {
                    var agent_id, store_id, device_id, status: String
                    var events_synced: UInt64
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                let items = agents.map {
                    Item(
                        agent_id: $0.agentID, store_id: $0.storeID, device_id: $0.deviceID, status: $0.status,
                        events_synced: $0.eventsSynced)
                }
                print(String(decoding: try encoder.encode(items), as: UTF8.self))
                return
            }
            let rows =
                [["AGENT", "STORE", "DEVICE", "STATUS", "EVENTS"]]
                + agents.map { [$0.agentID, $0.storeID, $0.deviceID, $0.status, String($0.eventsSynced)] }
            let widths = (0..<5).map { i in rows.map { $0[i].count }.max() ?? 0 }
            for r in rows {
                print(
                    r.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                        .joined(separator: "  "))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an agent: its batches are refused from now on; its merged data stays.")

        @OptionGroup var options: HubOptions
        @Argument(help: "The agent id (see `cx-hub agents list`).") var agentID: String

        func run() async throws {
            let c = try options.load()
            let hub = try Agents.open(c)
            defer { try? hub.close() }
            guard try hub.revoke(agentID: agentID) else {
                throw ValidationError("no active agent '\(agentID)'")
            }
            print("revoked \(agentID)")
        }
    }
}
