/// One agent of `GET /v1/fleet`.
struct FleetAgent: Decodable, Sendable {
    var agentID: String
    var store: String
    var device: String
    var status: String
    var lastSyncAt: String?
    var secondsSinceSync: Int64?
    var eventsSynced: UInt64
    var highWaterMark: UInt64?
    var lastSeq: UInt64?
    var bufferDepth: UInt64?
    var oldestUnsyncedAgeSeconds: Int64?
    var clockOffsetMillis: Int64?
    var skewed: Bool?
    var bytesReceived: UInt64?
    var refusals: UInt64?
    var lastError: String?

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id", store, device, status, lastSyncAt = "last_sync_at"
        case secondsSinceSync = "seconds_since_sync", eventsSynced = "events_synced"
        case highWaterMark = "high_water_mark", lastSeq = "last_seq", bufferDepth = "buffer_depth"
        case oldestUnsyncedAgeSeconds = "oldest_unsynced_age_seconds", clockOffsetMillis = "clock_offset_ms"
        case skewed, bytesReceived = "bytes_received", refusals, lastError = "last_error"
    }
}

/// One row of `GET /v1/events/counts`.
struct EventCount: Decodable, Sendable {
    var store: String
    var channel: String
    var type: String
    var events: Int64
}

/// One event of `GET /v1/customers/{id}/timeline`.
struct TimelineEvent: Decodable, Sendable {
    var occurredAt: String
    var customerID: String
    var store: String
    var channel: String
    var type: String
    var journeyStage: String?
    var score: Double?
    var sentiment: Double?
    var intents: [String]?
    var text: String?
    var eventID: String

    enum CodingKeys: String, CodingKey {
        case occurredAt = "occurred_at", customerID = "customer_id", store, channel, type
        case journeyStage = "journey_stage", score, sentiment, intents, text, eventID = "event_id"
    }
}

/// One alert of `GET /v1/alerts`.
struct Alert: Decodable, Sendable {
    var alertID: String
    var store: String
    var rule: String
    var severity: String
    var status: String
    var summary: String
    var assignee: String?
    var note: String?
    var raisedAt: String

    enum CodingKeys: String, CodingKey {
        case alertID = "alert_id", store, rule, severity, status, summary, assignee, note, raisedAt = "raised_at"
    }
}

/// One register of `GET /v1/config`.
struct ConfigEntry: Decodable, Sendable {
    var scope: String
    var name: String
    var value: String?
}

/// The body of `POST /v1/alerts/{id}/{action}`.
struct AlertChange: Encodable, Sendable {
    var note: String?
    var assignee: String?
}

/// The body of `PUT /v1/config/{scope}/{name}`; `nil` removes the setting.
struct ConfigValue: Encodable, Sendable {
    var value: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value, forKey: .value)
    }

    enum CodingKeys: String, CodingKey {
        case value
    }
}

/// The `{"...": "...", "result": "ok"}` answer of the hub's write routes.
struct WriteResult: Decodable, Sendable {
    var result: String?
}
