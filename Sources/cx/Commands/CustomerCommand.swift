import ArgumentParser

/// `cx customer ID`: one customer's events across channels and stores, oldest first.
struct CustomerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customer",
        abstract: "Show one customer's timeline across channels and stores, oldest first.",
        discussion: """
            Identifiers linked to ID (identity links) are included; the CUSTOMER column then shows which one each \
            event carried.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The customer's pseudonymous id.")
    var id: String

    @Option(help: "At most this many events (1 to 10000).")
    var limit = 200

    mutating func validate() throws {
        guard (1...10_000).contains(limit) else {
            throw ValidationError("--limit must be 1 to 10000")
        }
    }

    mutating func run() async throws {
        let id = id
        let limit = limit
        try await options.run { hub, _ in
            // One more than shown: the footer then says whether the timeline goes on (it is cut silently otherwise).
            var events = try await hub.get(
                [TimelineEvent].self, "/v1/customers/\(HubClient.segment(id))/timeline",
                query: [("limit", String(min(limit + 1, 10_000)))])
            let more = events.count > limit || (limit == 10_000 && events.count == limit)
            events = Array(events.prefix(limit))
            return Self.report(events, customer: id, more: more)
        }
    }

    static func report(_ events: [TimelineEvent], customer: String, more: Bool = false) -> Report {
        let linked = Set(events.map(\.customerID)).count > 1
        var table = Table([
            Column("occurred_at", "time"),
            Column("customer_id", "customer", inTable: linked),
            Column("channel", "channel"),
            Column("store", "store"),
            Column("type", "type"),
            Column("journey_stage", "stage"),
            Column("score", "score", .right),
            Column("sentiment", "sentiment", .right),
            Column("intents", "intents"),
            Column("text", "text", maxWidth: 60),
            Column("event_id", "event", inTable: false),
        ])
        for e in events {
            table.append([
                Cell(.string(e.occurredAt), text: Formatting.time(e.occurredAt)), .string(e.customerID),
                .string(e.channel), .string(e.store), .string(e.type), .string(e.journeyStage), .double(e.score),
                .double(e.sentiment), .list(e.intents ?? []), .string(e.text), .string(e.eventID),
            ])
        }
        var channels: [String] = []
        for e in events where !channels.contains(e.channel) {
            channels.append(e.channel)
        }
        let footer =
            events.isEmpty
            ? "no events for customer \(customer)"
            : "\(events.count) event\(events.count == 1 ? "" : "s") across \(channels.count) channel"
                + "\(channels.count == 1 ? "" : "s") (\(channels.joined(separator: ", ")))"
                + (more ? "; the oldest \(events.count) shown, more exist (--limit, up to 10000)" : "")
        return Report(table, footer: footer)
    }
}
