import ArgumentParser

/// `cx fleet`: every enrolled agent with its sync health.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Show every agent: last sync, events synced, lag, oldest unsynced event, buffer, clock offset.",
        discussion: """
            LAG is the time since the agent's last accepted batch; OLDEST UNSYNCED the age of the oldest event the \
            agent still holds unacknowledged and BUFFER how many there are (as the agent last reported); CLOCK the \
            agent's clock offset measured by the hub (hub minus agent). STATUS: ok, stale, clock_skewed, \
            never_synced or revoked.
            """)

    @OptionGroup var options: GlobalOptions

    mutating func run() async throws {
        try await options.run { hub, _ in
            Self.report(try await hub.get([FleetAgent].self, "/v1/fleet"))
        }
    }

    static func report(_ agents: [FleetAgent]) -> Report {
        let anyError = agents.contains { $0.lastError != nil }
        var table = Table([
            Column("agent_id", "agent"),
            Column("store", "store"),
            Column("device", "device"),
            Column("status", "status"),
            Column("last_sync_at", "last sync"),
            Column("seconds_since_sync", "lag", .right),
            Column("events_synced", "events", .right),
            Column("oldest_unsynced_age_seconds", "oldest unsynced", .right),
            Column("buffer_depth", "buffer", .right),
            Column("clock_offset_ms", "clock", .right),
            Column("high_water_mark", "hwm", .right, inTable: false),
            Column("last_seq", "last seq", .right, inTable: false),
            Column("skewed", "skewed", inTable: false),
            Column("bytes_received", "bytes", .right, inTable: false),
            Column("refusals", "refusals", .right, inTable: false),
            Column("last_error", "last error", inTable: anyError, maxWidth: 60),
        ])
        for a in agents {
            table.append([
                .string(a.agentID), .string(a.store), .string(a.device), .string(a.status),
                Cell(a.lastSyncAt.map(JSONValue.string) ?? .null, text: a.lastSyncAt.map(Formatting.time) ?? "never"),
                .int(a.secondsSinceSync, text: Formatting.duration(seconds: a.secondsSinceSync)),
                .int(a.eventsSynced),
                .int(a.oldestUnsyncedAgeSeconds, text: Formatting.duration(seconds: a.oldestUnsyncedAgeSeconds)),
                .int(a.bufferDepth),
                .int(a.clockOffsetMillis, text: Formatting.offset(millis: a.clockOffsetMillis)),
                .int(a.highWaterMark), .int(a.lastSeq), .bool(a.skewed), .int(a.bytesReceived), .int(a.refusals),
                .string(a.lastError),
            ])
        }
        var byStatus: [String: Int] = [:]
        for a in agents {
            byStatus[a.status, default: 0] += 1
        }
        let summary = byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let footer =
            agents.isEmpty
            ? "no agents enrolled" : "\(agents.count) agent\(agents.count == 1 ? "" : "s"): \(summary)"
        return Report(table, footer: footer)
    }
}
