import ArgumentParser

/// `cx`: the command line for CX leads, talking to a hub's query API.
@main
struct CXCommand: AsyncParsableCommand {
    /// The version `cx --version` prints and the `User-Agent` carries.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "cx",
        abstract: "Query a cxsync hub: fleet health, event counts, customer timelines, alerts, configuration.",
        discussion: """
            The hub, token and CA come from --hub/--token/--ca, else CX_HUB_URL/CX_TOKEN/CX_CA_FILE, else the file \
            `cx login` writes (CX_CONFIG, default ~/.config/cx/config.json). Every command prints an aligned table, \
            or JSON with --json, or CSV with --csv.
            """,
        version: version,
        subcommands: [
            LoginCommand.self, FleetCommand.self, EventsCommand.self, CustomerCommand.self, AlertsCommand.self,
            ConfigCommand.self, EraseCommand.self,
        ]
    )
}
