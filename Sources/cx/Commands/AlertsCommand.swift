import ArgumentParser
import Foundation
import NIOHTTP1

/// `cx alerts`: list alerts and move them through their lifecycle (acknowledge, resolve, assign).
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List alerts; acknowledge, resolve or assign one.",
        discussion: """
            Changes made here reach the store's agents with their next sync. Status only moves forward: \
            open → acknowledged → resolved.
            """,
        subcommands: [List.self, Acknowledge.self, Resolve.self, Assign.self],
        defaultSubcommand: List.self)

    /// An alert status as `--status` takes it.
    enum Status: String, CaseIterable, ExpressibleByArgument, Sendable {
        case open
        case acknowledged
        case resolved
    }

    /// `cx alerts [list] [--status S]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List alerts, newest first (at most 1000).")

        @OptionGroup var options: GlobalOptions

        @Option(help: "Only alerts in this status: open, acknowledged or resolved.")
        var status: Status?

        @Option(help: ArgumentHelp("Only alerts of this store.", valueName: "store"))
        var store: String?

        mutating func run() async throws {
            let status = status
            let store = store
            try await options.run { hub, _ in
                // The hub answers the 1,000 newest: a store's are filtered there, not among every store's.
                var query = status.map { [("status", $0.rawValue)] } ?? []
                if let store { query.append(("store", store)) }
                let alerts = try await hub.get([Alert].self, "/v1/alerts", query: query)
                let footer = alerts.isEmpty ? "no alerts" : "\(alerts.count) alert\(alerts.count == 1 ? "" : "s")"
                return Report(AlertsCommand.table(alerts), footer: footer)
            }
        }
    }

    /// `cx alerts ack ID [--note TEXT]`.
    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ack", abstract: "Acknowledge an alert.", aliases: ["acknowledge"])

        @OptionGroup var options: GlobalOptions

        @OptionGroup var alert: AlertTarget

        mutating func run() async throws {
            try await AlertsCommand.change(
                alert.id, "acknowledge", AlertChange(note: alert.note), verb: "acknowledged", options)
        }
    }

    /// `cx alerts resolve ID [--note TEXT]`.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an alert.")

        @OptionGroup var options: GlobalOptions

        @OptionGroup var alert: AlertTarget

        mutating func run() async throws {
            try await AlertsCommand.change(
                alert.id, "resolve", AlertChange(note: alert.note), verb: "resolved", options)
        }
    }

    /// `cx alerts assign ID --to NAME [--note TEXT]`.
    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an alert an owner (its status is unchanged).")

        @OptionGroup var options: GlobalOptions

        @OptionGroup var alert: AlertTarget

        @Option(help: ArgumentHelp("The new owner.", valueName: "name"))
        var to: String

        mutating func validate() throws {
            if to.trimmingCharacters(in: .whitespaces).isEmpty {
                throw ValidationError("--to needs a name")
            }
        }

        mutating func run() async throws {
            try await AlertsCommand.change(
                alert.id, "update", AlertChange(note: alert.note, assignee: to), verb: "assigned to \(to)", options)
        }
    }

    /// What `ack`, `resolve` and `assign` act on.
    struct AlertTarget: ParsableArguments {
        @Argument(help: "The alert id.")
        var id: String

        @Option(help: "A note for the store (replaces the previous note).")
        var note: String?
    }

    /// Posts the change, then shows the alert as the hub now holds it.
    static func change(
        _ id: String, _ action: String, _ change: AlertChange, verb: String, _ options: GlobalOptions
    ) async throws {
        try await options.run { hub, _ in
            // The hub answers with the alert as it now stands (whatever its age: the list holds the newest only).
            let alert = try await hub.send(
                Alert.self, .POST, "/v1/alerts/\(HubClient.segment(id))/\(action)", body: change)
            let owner = alert.assignee.map { ", owner \($0)" } ?? ""
            return Report(
                table([alert]), message: "alert \(id) \(verb); status \(alert.status)\(owner)", single: true)
        }
    }

    static func table(_ alerts: [Alert]) -> Table {
        var table = Table([
            Column("alert_id", "id"),
            Column("store", "store"),
            Column("severity", "severity"),
            Column("status", "status"),
            Column("rule", "rule"),
            Column("summary", "summary", maxWidth: 50),
            Column("assignee", "owner"),
            Column("note", "note", maxWidth: 40),
            Column("raised_at", "raised"),
        ])
        for a in alerts {
            table.append([
                .string(a.alertID), .string(a.store), .string(a.severity), .string(a.status), .string(a.rule),
                .string(a.summary), .string(a.assignee), .string(a.note),
                Cell(.string(a.raisedAt), text: Formatting.time(a.raisedAt)),
            ])
        }
        return table
    }
}
