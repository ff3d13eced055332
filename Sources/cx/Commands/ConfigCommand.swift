import ArgumentParser
import NIOHTTP1

/// `cx config`: the configuration the hub sends down to agents.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show or change the configuration the hub sends to agents.",
        discussion: """
            SCOPE is `*` (every store; quote it in the shell) or a store id. A change reaches the agents of that \
            scope with their next sync.
            """,
        subcommands: [Get.self, SetValue.self, Unset.self],
        defaultSubcommand: Get.self)

    /// `cx config get [SCOPE [NAME]]`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List settings, optionally of one scope or name.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "Only this scope (`*` or a store id).")
        var scope: String?

        @Argument(help: "Only this setting.")
        var name: String?

        mutating func run() async throws {
            let scope = scope
            let name = name
            try await options.run { hub, _ in
                let entries = try await hub.get([ConfigEntry].self, "/v1/config").filter { entry in
                    (scope == nil || entry.scope == scope) && (name == nil || entry.name == name)
                }
                var table = Table([Column("scope", "scope"), Column("name", "name"), Column("value", "value")])
                for e in entries {
                    table.append([.string(e.scope), .string(e.name), .string(e.value)])
                }
                let footer = entries.isEmpty ? "no settings" : nil
                return Report(table, footer: footer)
            }
        }
    }

    /// `cx config set SCOPE NAME VALUE`.
    struct SetValue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Set one setting for a scope.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "`*` for every store, or a store id.")
        var scope: String

        @Argument(help: "The setting's name.")
        var name: String

        @Argument(
            parsing: .allUnrecognized,
            help: "The value (may start with '-', e.g. -0.4; quote a value with spaces).")
        var value: [String] = []

        mutating func validate() throws {
            guard value.count == 1 else {
                throw ValidationError("give exactly one value after SCOPE and NAME (got \(value.count))")
            }
        }

        mutating func run() async throws {
            try await ConfigCommand.put(scope, name, value[0], options)
        }
    }

    /// `cx config unset SCOPE NAME`.
    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove one setting from a scope.")

        @OptionGroup var options: GlobalOptions

        @Argument(help: "`*` for every store, or a store id.")
        var scope: String

        @Argument(help: "The setting's name.")
        var name: String

        mutating func run() async throws {
            try await ConfigCommand.put(scope, name, nil, options)
        }
    }

    static func put(_ scope: String, _ name: String, _ value: String?, _ options: GlobalOptions) async throws {
        try await options.run { hub, _ in
            _ = try await hub.send(
                WriteResult.self, .PUT, "/v1/config/\(HubClient.segment(scope))/\(HubClient.segment(name))",
                body: ConfigValue(value: value))
            var table = Table([Column("scope", "scope"), Column("name", "name"), Column("value", "value")])
            table.append([.string(scope), .string(name), .string(value)])
            let message = value.map { "\(name) = \($0) for scope \(scope)" } ?? "\(name) removed from scope \(scope)"
            return Report(table, message: message, single: true)
        }
    }
}
