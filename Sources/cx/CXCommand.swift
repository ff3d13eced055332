import ArgumentParser

/// `cx`: the command line for CX leads, talking to a hub's query API.
@main
struct CXCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cx",
        abstract: "Query a cxsync hub: fleet health, event counts, customer timelines.",
        subcommands: []
    )
}
