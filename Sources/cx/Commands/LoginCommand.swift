import ArgumentParser
import Foundation

/// `cx login`: checks a hub URL and token, then saves them for later commands.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Check the hub URL and operator token, then save them (mode 0600) for later commands.",
        discussion: """
            The file is CX_CONFIG when set, else $XDG_CONFIG_HOME/cx/config.json, else ~/.config/cx/config.json. \
            The CA file is saved as an absolute path. Example: \
            `cx login --hub https://hub.example:7443 --token cxo_... --ca ca.pem`.
            """)

    @OptionGroup var options: GlobalOptions

    mutating func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        try await options.run(environment: environment) { hub, settings in
            let agents = try await hub.get([FleetAgent].self, "/v1/fleet")
            let path = ConfigFile.path(environment: environment)
            let ca = settings.caFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            try ConfigFile(hub: settings.hubURL, token: settings.token, caFile: ca).save(path: path)
            var table = Table([
                Column("hub", "hub"), Column("config_file", "config file"), Column("ca_file", "ca file"),
                Column("agents", "agents", .right),
            ])
            table.append([.string(settings.hubURL), .string(path), .string(ca), .int(agents.count)])
            let message =
                "logged in to \(settings.hubURL) (\(agents.count) agent\(agents.count == 1 ? "" : "s") enrolled); "
                + "saved to \(path) (mode 0600)"
            return Report(table, message: message, single: true)
        }
    }
}
