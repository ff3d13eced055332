import ArgumentParser

/// How a command prints its result.
enum OutputFormat: Sendable {
    case table
    case json
    case csv
}

/// The options every command accepts: where the hub is, how to authenticate, how to print.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Hub URL, e.g. https://hub.example:7443. Env: CX_HUB_URL.", valueName: "url"))
    var hub: String?

    @Option(help: ArgumentHelp("Operator token. Env: CX_TOKEN (keeps it out of the process list).", valueName: "token"))
    var token: String?

    @Option(
        name: .customLong("ca"),
        help: ArgumentHelp("PEM file of the CA that signed the hub's certificate. Env: CX_CA_FILE.", valueName: "file"))
    var caFile: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Print CSV (RFC 4180 quoting) instead of a table.")
    var csv = false

    mutating func validate() throws {
        if json && csv {
            throw ValidationError("--json and --csv cannot be used together")
        }
    }

    /// The output format the flags ask for.
    var format: OutputFormat {
        json ? .json : csv ? .csv : .table
    }
}
