import ArgumentParser
import Foundation

/// `cx events`: merged event counts over a time window, grouped by store, channel and/or type.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Count merged events by store, channel and type over a time window.",
        discussion: """
            Times are RFC 3339 (2024-05-01T09:00:00Z), a date (2024-05-01, UTC), `now`, a span ago (30m, 24h, 7d, \
            1h30m) or Unix milliseconds. The window is [since, until) on occurred_at; without --since it is the \
            last 7 days (--all counts every event, which reads them all at the hub). Examples: \
            `cx events --since 24h --by store`, `cx events --since 30d --by channel,type`.
            """)

    /// A grouping key of the counts.
    enum Dimension: String, CaseIterable, Sendable {
        case store
        case channel
        case type
    }

    @OptionGroup var options: GlobalOptions

    @Option(help: ArgumentHelp("Start of the window (inclusive); default: 7 days ago.", valueName: "time"))
    var since: TimeBound?

    @Flag(help: "Count every event ever merged, instead of the last 7 days (the hub reads them all).")
    var all = false

    @Option(help: ArgumentHelp("End of the window (exclusive); default: after the last event.", valueName: "time"))
    var until: TimeBound?

    @Option(help: ArgumentHelp("Only this store.", valueName: "store"))
    var store: String?

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Group by store, channel and/or type (repeat, or list them: --by store channel, --by store,type). "
                + "Default: all three.", valueName: "dimension"))
    var by: [String] = []

    mutating func validate() throws {
        _ = try dimensions()
        if all && since != nil { throw ValidationError("--all and --since exclude each other") }
        if let since, let until, since.millis >= until.millis {
            throw ValidationError("--since must be before --until")
        }
        // the default window's start is 7 days ago: an --until before it would count an empty, inverted window
        if since == nil, !all, let until, let start, until.millis <= start.millis {
            throw ValidationError("--until is more than 7 days ago: give --since too, or --all")
        }
    }

    /// The window's start: `--since`, none with `--all`, else 7 days ago. A bare `cx events` used to count every
    /// event the hub ever merged, a scan of the whole table that outlived the command's timeout on a large hub.
    var start: TimeBound? {
        if all { return nil }
        return since ?? TimeBound(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded()) - 7 * 86_400_000)
    }

    /// The grouping the user asked for, in order, without repeats.
    func dimensions() throws -> [Dimension] {
        var result: [Dimension] = []
        for word in by.flatMap({ $0.split(separator: ",") }) {
            let name = word.trimmingCharacters(in: .whitespaces).lowercased()
            guard let d = Dimension(rawValue: name) else {
                throw ValidationError("--by takes store, channel or type, not '\(word)'")
            }
            if !result.contains(d) {
                result.append(d)
            }
        }
        return result.isEmpty ? Dimension.allCases : result
    }

    mutating func run() async throws {
        let dimensions = try dimensions()
        let since = start
        let until = until
        let store = store
        try await options.run { hub, _ in
            var query: [(String, String)] = []
            if let since { query.append(("since", String(since.millis))) }
            if let until { query.append(("until", String(until.millis))) }
            if let store { query.append(("store", store)) }
            let counts = try await hub.get([EventCount].self, "/v1/events/counts", query: query)
            return Self.report(counts, by: dimensions, since: since, until: until)
        }
    }

    static func report(_ counts: [EventCount], by dimensions: [Dimension], since: TimeBound?, until: TimeBound?)
        -> Report
    {
        var totals: [[String]: Int64] = [:]
        for row in counts {
            let key = dimensions.map { d in
                switch d {
                case .store: row.store
                case .channel: row.channel
                case .type: row.type
                }
            }
            totals[key, default: 0] += row.events
        }
        var table = Table(dimensions.map { Column($0.rawValue, $0.rawValue) } + [Column("events", "events", .right)])
        for (key, n) in totals.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            table.append(key.map { Cell.string($0) } + [.int(n)])
        }
        let total = totals.values.reduce(0, +)
        let from = since.map { Formatting.rfc3339(millis: $0.millis) }
        let to = until.map { Formatting.rfc3339(millis: $0.millis) }
        let window =
            switch (from, to) {
            case (nil, nil): "all time"
            case (let from?, nil): "since \(from)"
            case (nil, let to?): "before \(to)"
            case (let from?, let to?): "from \(from) to \(to)"
            }
        return Report(table, footer: "\(total) event\(total == 1 ? "" : "s"), \(window)")
    }
}
