import CXConfiguration
import CXCore
import CXInsight
import Foundation

/// Everything `cx-agent` can be told. Every field has a default that works on a fresh machine; a YAML file
/// overrides the defaults, `CX_AGENT_*` environment variables override the file, flags override both.
public struct AgentConfiguration: Sendable, Hashable, Codable, LayeredConfiguration {
    /// Where the buffer database and credentials live.
    public var dataDirectory: String = "./cx-agent-data"
    /// The store this agent serves; events for other stores are refused at ingest.
    /// Empty: any store (useful before enrollment binds the agent to one).
    public var storeID: String = ""
    /// Loopback by default: the ingest API is for producers on the same box. Any other address needs `apiToken`.
    public var listenHost: String = "127.0.0.1"
    /// Bearer token that every request to the local API but `/v1/health` must present; empty: none (loopback only).
    /// Producers on the store network post events, read and resolve alerts through this API: once it listens beyond
    /// the box, a device on that network without the token must not.
    public var apiToken: String = ""
    /// 0 picks a free port (printed on start-up).
    public var listenPort: Int = 7300
    /// Largest accepted request body; larger ones get 413.
    public var maxBodyBytes: Int = 8 * 1024 * 1024
    /// Largest number of events in one request.
    public var maxEventsPerRequest: Int = 10_000
    /// Disk budget of the buffer database. When unsynced data would pass it, ingest answers 503.
    public var quotaBytes: Int64 = 1 << 30
    /// What a 503 tells producers to wait.
    public var retryAfter: Duration = .seconds(5)
    /// Largest number of events one group commit writes, so that one commit's latency stays bounded.
    public var maxEventsPerCommit: Int = 20_000
    /// How long an idle writer waits for requests still being prepared (parsed, enriched) before it commits one
    /// alone, so that they share its fsync (PostgreSQL's `commit_delay`); zero commits at once.
    public var commitDelay: Duration = .milliseconds(3)
    /// HLC timestamps further ahead than this are refused.
    public var maxClockDrift: Duration = .seconds(300)
    /// SQLite page cache of each buffer connection, in KiB. Ingest appends, so the writer's working set is small;
    /// SQLite scans the whole cache's hash table at the end of each transaction, which at 64 MiB cost ~6% of the
    /// agent's CPU under durable ingest (8 MiB: +5-25% events/s in interleaved A/B runs).
    public var cacheKiB: Int = 8_192
    public var logLevel: String = "info"

    /// The hub to sync with; empty: the URL recorded at enrollment (`credentials.json`).
    public var hubURL: String = ""
    /// Off: the agent only buffers (useful for an offline-only box or before enrollment).
    public var syncEnabled: Bool = true
    /// How soon new outbox events are looked for when the last batch emptied the outbox.
    public var syncInterval: Duration = .milliseconds(500)
    /// How often an idle agent asks the hub for downstream changes (alert status, configuration).
    public var pollInterval: Duration = .seconds(10)
    /// Upper bounds of one batch; the hub refuses more than 10,000 events or 8 MiB per frame.
    public var maxBatchEvents: Int = 5_000
    public var maxBatchBytes: Int = 4 * 1024 * 1024
    /// zstd level of sync frames (1–19).
    public var compressionLevel: Int = 3
    /// First and largest wait of the exponential backoff with full jitter after a failed attempt.
    public var backoffInitial: Duration = .milliseconds(500)
    public var backoffMax: Duration = .seconds(30)
    /// A sync that makes no progress for this long is logged with its reason and counted.
    public var stallAfter: Duration = .seconds(120)
    /// Time limit of one sync request.
    public var requestTimeout: Duration = .seconds(30)
    /// Local times during which the agent may sync, `HH:MM-HH:MM` (may wrap midnight); empty: always.
    public var syncWindow: String = ""
    /// Upstream bandwidth cap in bytes per second; 0: none.
    public var bandwidthLimit: Int = 0
    /// A saved batch sealed longer ago than this (an outage, a box off overnight) is rebuilt before it is posted:
    /// the hub reads the box's clock from the batch's send time. Keep it below half the hub's
    /// `skew_threshold_seconds` (120 by default).
    public var maxFrameAge: Duration = .seconds(60)
    /// Off: events are stored as posted, without masking, hashing or scores (for diagnostics only); they are masked
    /// and hashed when sent (`RawEventSanitizer`), so that the hub never holds raw PII.
    public var enrichmentEnabled: Bool = true
    /// Site identifiers masked with the built-in kinds, e.g. loyalty numbers: a literal prefix and a count of
    /// digits (`{name: loyalty_id, prefix: "LOY-", min_digits: 8, max_digits: 10, token: "[LOYALTY]"}`). They
    /// apply to texts, attribute values and alert notes, and to rows stored without enrichment before they sync.
    public var piiPatterns: [PIIPattern] = []
    /// The store's country calling code (e.g. `44`), so that a national phone number (`07700 900123`) and the same
    /// number written internationally (`+44 7700 900123`) are one customer: identifiers are hashed in international
    /// form. Empty: national numbers are hashed as written, and join only numbers written the same way.
    public var defaultCountryCode: String = ""
    /// Where local alerts are POSTed as JSON (the store's back-office screen, a chat bridge); empty: nowhere.
    public var alertWebhookURL: String = ""

    public init() {}

    /// `defaultCountryCode` as the hasher takes it: nil for none.
    public var countryCode: String? { defaultCountryCode.isEmpty ? nil : defaultCountryCode }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataDirectory = "data_directory"
        case storeID = "store_id"
        case listenHost = "listen_host"
        case listenPort = "listen_port"
        case apiToken = "api_token"
        case maxBodyBytes = "max_body_bytes"
        case maxEventsPerRequest = "max_events_per_request"
        case quotaBytes = "quota_bytes"
        case retryAfter = "retry_after_seconds"
        case maxEventsPerCommit = "max_events_per_commit"
        case commitDelay = "commit_delay_us"
        case maxClockDrift = "max_clock_drift_seconds"
        case cacheKiB = "cache_kib"
        case logLevel = "log_level"
        case hubURL = "hub_url"
        case syncEnabled = "sync_enabled"
        case syncInterval = "sync_interval_ms"
        case pollInterval = "poll_interval_ms"
        case maxBatchEvents = "max_batch_events"
        case maxBatchBytes = "max_batch_bytes"
        case compressionLevel = "compression_level"
        case backoffInitial = "backoff_initial_ms"
        case backoffMax = "backoff_max_ms"
        case stallAfter = "stall_after_seconds"
        case requestTimeout = "request_timeout_seconds"
        case syncWindow = "sync_window"
        case bandwidthLimit = "bandwidth_limit_bytes_per_second"
        case maxFrameAge = "max_frame_age_seconds"
        case enrichmentEnabled = "enrichment_enabled"
        case alertWebhookURL = "alert_webhook_url"
        case piiPatterns = "pii_patterns"
        case defaultCountryCode = "default_country_code"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AgentConfiguration()
        dataDirectory = try c.decodeIfPresent(String.self, forKey: .dataDirectory) ?? d.dataDirectory
        storeID = try c.decodeIfPresent(String.self, forKey: .storeID) ?? d.storeID
        listenHost = try c.decodeIfPresent(String.self, forKey: .listenHost) ?? d.listenHost
        listenPort = try c.decodeIfPresent(Int.self, forKey: .listenPort) ?? d.listenPort
        apiToken = try c.decodeIfPresent(String.self, forKey: .apiToken) ?? d.apiToken
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? d.maxBodyBytes
        maxEventsPerRequest = try c.decodeIfPresent(Int.self, forKey: .maxEventsPerRequest) ?? d.maxEventsPerRequest
        quotaBytes = try c.decodeIfPresent(Int64.self, forKey: .quotaBytes) ?? d.quotaBytes
        retryAfter = try c.decodeIfPresent(Int64.self, forKey: .retryAfter).map { .seconds($0) } ?? d.retryAfter
        maxEventsPerCommit = try c.decodeIfPresent(Int.self, forKey: .maxEventsPerCommit) ?? d.maxEventsPerCommit
        commitDelay =
            try c.decodeIfPresent(Int64.self, forKey: .commitDelay).map { .microseconds($0) } ?? d.commitDelay
        maxClockDrift =
            try c.decodeIfPresent(Int64.self, forKey: .maxClockDrift).map { .seconds($0) } ?? d.maxClockDrift
        cacheKiB = try c.decodeIfPresent(Int.self, forKey: .cacheKiB) ?? d.cacheKiB
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? d.logLevel
        func ms(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
            try c.decodeIfPresent(Int64.self, forKey: key).map { .milliseconds($0) } ?? fallback
        }
        func secs(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
            try c.decodeIfPresent(Int64.self, forKey: key).map { .seconds($0) } ?? fallback
        }
        hubURL = try c.decodeIfPresent(String.self, forKey: .hubURL) ?? d.hubURL
        syncEnabled = try c.decodeIfPresent(Bool.self, forKey: .syncEnabled) ?? d.syncEnabled
        syncInterval = try ms(.syncInterval, d.syncInterval)
        pollInterval = try ms(.pollInterval, d.pollInterval)
        maxBatchEvents = try c.decodeIfPresent(Int.self, forKey: .maxBatchEvents) ?? d.maxBatchEvents
        maxBatchBytes = try c.decodeIfPresent(Int.self, forKey: .maxBatchBytes) ?? d.maxBatchBytes
        compressionLevel = try c.decodeIfPresent(Int.self, forKey: .compressionLevel) ?? d.compressionLevel
        backoffInitial = try ms(.backoffInitial, d.backoffInitial)
        backoffMax = try ms(.backoffMax, d.backoffMax)
        stallAfter = try secs(.stallAfter, d.stallAfter)
        requestTimeout = try secs(.requestTimeout, d.requestTimeout)
        syncWindow = try c.decodeIfPresent(String.self, forKey: .syncWindow) ?? d.syncWindow
        bandwidthLimit = try c.decodeIfPresent(Int.self, forKey: .bandwidthLimit) ?? d.bandwidthLimit
        maxFrameAge = try secs(.maxFrameAge, d.maxFrameAge)
        enrichmentEnabled = try c.decodeIfPresent(Bool.self, forKey: .enrichmentEnabled) ?? d.enrichmentEnabled
        piiPatterns = try c.decodeIfPresent([PIIPattern].self, forKey: .piiPatterns) ?? d.piiPatterns
        defaultCountryCode = try c.decodeIfPresent(String.self, forKey: .defaultCountryCode) ?? d.defaultCountryCode
        alertWebhookURL = try c.decodeIfPresent(String.self, forKey: .alertWebhookURL) ?? d.alertWebhookURL
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dataDirectory, forKey: .dataDirectory)
        try c.encode(storeID, forKey: .storeID)
        try c.encode(listenHost, forKey: .listenHost)
        try c.encode(listenPort, forKey: .listenPort)
        try c.encode(apiToken, forKey: .apiToken)
        try c.encode(maxBodyBytes, forKey: .maxBodyBytes)
        try c.encode(maxEventsPerRequest, forKey: .maxEventsPerRequest)
        try c.encode(quotaBytes, forKey: .quotaBytes)
        try c.encode(retryAfter.components.seconds, forKey: .retryAfter)
        try c.encode(maxEventsPerCommit, forKey: .maxEventsPerCommit)
        try c.encode(commitDelay.microseconds, forKey: .commitDelay)
        try c.encode(maxClockDrift.components.seconds, forKey: .maxClockDrift)
        try c.encode(cacheKiB, forKey: .cacheKiB)
        try c.encode(logLevel, forKey: .logLevel)
        try c.encode(hubURL, forKey: .hubURL)
        try c.encode(syncEnabled, forKey: .syncEnabled)
        try c.encode(syncInterval.milliseconds, forKey: .syncInterval)
        try c.encode(pollInterval.milliseconds, forKey: .pollInterval)
        try c.encode(maxBatchEvents, forKey: .maxBatchEvents)
        try c.encode(maxBatchBytes, forKey: .maxBatchBytes)
        try c.encode(compressionLevel, forKey: .compressionLevel)
        try c.encode(backoffInitial.milliseconds, forKey: .backoffInitial)
        try c.encode(backoffMax.milliseconds, forKey: .backoffMax)
        try c.encode(stallAfter.components.seconds, forKey: .stallAfter)
        try c.encode(requestTimeout.components.seconds, forKey: .requestTimeout)
        try c.encode(syncWindow, forKey: .syncWindow)
        try c.encode(bandwidthLimit, forKey: .bandwidthLimit)
        try c.encode(maxFrameAge.components.seconds, forKey: .maxFrameAge)
        try c.encode(enrichmentEnabled, forKey: .enrichmentEnabled)
        try c.encode(piiPatterns, forKey: .piiPatterns)
        try c.encode(defaultCountryCode, forKey: .defaultCountryCode)
        try c.encode(alertWebhookURL, forKey: .alertWebhookURL)
    }
}

/// A configuration problem, naming the source (file, variable) and the setting.
public typealias ConfigurationError = CXConfiguration.ConfigurationError

extension AgentConfiguration {
    public static let environmentPrefix = "CX_AGENT_"
    public static var knownKeys: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    public mutating func applyEnvironment(_ env: [String: String]) throws {
        let overrides = EnvironmentOverrides(env, prefix: Self.environmentPrefix)
        func string(_ key: CodingKeys) -> String? { overrides.string(key.rawValue) }
        func int(_ key: CodingKeys) throws -> Int64? { try overrides.int(key.rawValue) }
        func bool(_ key: CodingKeys) throws -> Bool? { try overrides.bool(key.rawValue) }
        if let v = string(.dataDirectory) { dataDirectory = v }
        if let v = string(.storeID) { storeID = v }
        if let v = string(.listenHost) { listenHost = v }
        if let v = try int(.listenPort) { listenPort = Int(v) }
        if let v = string(.apiToken) { apiToken = v }
        if let v = try int(.maxBodyBytes) { maxBodyBytes = Int(v) }
        if let v = try int(.maxEventsPerRequest) { maxEventsPerRequest = Int(v) }
        if let v = try int(.quotaBytes) { quotaBytes = v }
        if let v = try int(.retryAfter) { retryAfter = .seconds(v) }
        if let v = try int(.maxEventsPerCommit) { maxEventsPerCommit = Int(v) }
        if let v = try int(.commitDelay) { commitDelay = .microseconds(v) }
        if let v = try int(.maxClockDrift) { maxClockDrift = .seconds(v) }
        if let v = try int(.cacheKiB) { cacheKiB = Int(v) }
        if let v = string(.logLevel) { logLevel = v }
        if let v = string(.hubURL) { hubURL = v }
        if let v = try bool(.syncEnabled) { syncEnabled = v }
        if let v = try bool(.enrichmentEnabled) { enrichmentEnabled = v }
        if let v = string(.alertWebhookURL) { alertWebhookURL = v }
        if let v = string(.defaultCountryCode) { defaultCountryCode = v }
        if let v = try int(.syncInterval) { syncInterval = .milliseconds(v) }
        if let v = try int(.pollInterval) { pollInterval = .milliseconds(v) }
        if let v = try int(.maxBatchEvents) { maxBatchEvents = Int(v) }
        if let v = try int(.maxBatchBytes) { maxBatchBytes = Int(v) }
        if let v = try int(.compressionLevel) { compressionLevel = Int(v) }
        if let v = try int(.backoffInitial) { backoffInitial = .milliseconds(v) }
        if let v = try int(.backoffMax) { backoffMax = .milliseconds(v) }
        if let v = try int(.stallAfter) { stallAfter = .seconds(v) }
        if let v = try int(.requestTimeout) { requestTimeout = .seconds(v) }
        if let v = string(.syncWindow) { syncWindow = v }
        if let v = try int(.bandwidthLimit) { bandwidthLimit = Int(v) }
        if let v = try int(.maxFrameAge) { maxFrameAge = .seconds(v) }
    }

    /// Whether `host` is a loopback address or name (127.0.0.0/8, ::1, localhost).
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        return octets.count == 4 && octets.allSatisfy { $0 != nil } && octets[0] == 127
    }

    /// Refuses settings that cannot work, with the setting's name.
    public func validate() throws {
        func fail(_ key: CodingKeys, _ why: String) -> ConfigurationError {
            ConfigurationError(source: "setting '\(key.rawValue)'", message: why, setting: key.rawValue)
        }
        if dataDirectory.isEmpty { throw fail(.dataDirectory, "must not be empty") }
        // every event's store_id must equal it, and events refuse ids of other characters
        if !storeID.isEmpty && !EventValidator.isIdentifier(storeID) {
            throw fail(
                .storeID, "'\(storeID)' must be 1 to 128 bytes of letters, digits, '.', '_', '-', ':' or '@'")
        }
        for (i, pattern) in piiPatterns.enumerated() {
            if let problem = pattern.problem { throw fail(.piiPatterns, "entry \(i + 1): \(problem)") }
        }
        if let problem = CustomerIdentifierHasher.countryCodeProblem(defaultCountryCode) {
            throw fail(.defaultCountryCode, problem)
        }
        if !(0...65535).contains(listenPort) { throw fail(.listenPort, "\(listenPort) is not a TCP port") }
        if !apiToken.isEmpty && apiToken.utf8.count < 16 {
            throw fail(.apiToken, "must be at least 16 characters (e.g. `openssl rand -hex 16`)")
        }
        if apiToken.isEmpty && !Self.isLoopback(listenHost) {
            throw fail(
                .listenHost,
                "'\(listenHost)' is reachable beyond this box: set api_token (CX_AGENT_API_TOKEN) so that only producers that present it may post events or change alerts"
            )
        }
        // Upper bounds too: the agent multiplies these (seconds to milliseconds, KiB to bytes), and a value near
        // Int64.max trapped it at start.
        func within(_ key: CodingKeys, _ value: Int64, _ range: ClosedRange<Int64>) throws {
            if !range.contains(value) {
                throw fail(key, "must be within \(range.lowerBound)...\(range.upperBound)")
            }
        }
        let day: Int64 = 86_400
        try within(.maxBodyBytes, Int64(maxBodyBytes), 1024...(1 << 30))
        try within(.maxEventsPerRequest, Int64(maxEventsPerRequest), 1...1_000_000)
        if quotaBytes < 1 << 20 { throw fail(.quotaBytes, "must be at least 1 MiB") }
        try within(.quotaBytes, quotaBytes, (1 << 20)...(1 << 50))
        try within(.maxEventsPerCommit, Int64(maxEventsPerCommit), 1...1_000_000)
        try within(.retryAfter, retryAfter.components.seconds, 1...3600)
        try within(.maxClockDrift, maxClockDrift.components.seconds, 1...day)
        try within(.cacheKiB, Int64(cacheKiB), 0...(16 << 20))
        try within(.syncInterval, syncInterval.milliseconds, 10...(day * 1000))
        try within(.pollInterval, pollInterval.milliseconds, 10...(day * 1000))
        try within(.backoffInitial, backoffInitial.milliseconds, 1...(day * 1000))
        try within(.backoffMax, backoffMax.milliseconds, 1...(day * 1000))
        try within(.stallAfter, stallAfter.components.seconds, 1...(30 * day))
        try within(.requestTimeout, requestTimeout.components.seconds, 1...3600)
        if commitDelay < .zero || commitDelay > .milliseconds(100) {
            throw fail(.commitDelay, "must be within 0...100000")
        }
        if !(1...10_000).contains(maxBatchEvents) { throw fail(.maxBatchEvents, "must be within 1...10000") }
        if !(4096...(8 << 20)).contains(maxBatchBytes) { throw fail(.maxBatchBytes, "must be within 4096...8388608") }
        if !(1...19).contains(compressionLevel) { throw fail(.compressionLevel, "must be within 1...19") }
        if backoffMax < backoffInitial { throw fail(.backoffMax, "must be at least backoff_initial_ms") }
        if bandwidthLimit < 0 { throw fail(.bandwidthLimit, "must not be negative") }
        if maxFrameAge < .seconds(1) || maxFrameAge > .seconds(86_400) {
            throw fail(.maxFrameAge, "must be within 1...86400")
        }
        if !syncWindow.isEmpty && SyncWindow(syncWindow) == nil {
            throw fail(.syncWindow, "'\(syncWindow)' is not HH:MM-HH:MM")
        }
        if !alertWebhookURL.isEmpty && !(alertWebhookURL.hasPrefix("https://") || alertWebhookURL.hasPrefix("http://"))
        {
            throw fail(.alertWebhookURL, "'\(alertWebhookURL)' is not an http(s) URL")
        }
        // TLS only, as at enrollment: batches carry the store's events, and an acknowledgement over cleartext could be
        // forged by anyone on the store's network to have the agent drop events the hub never got.
        if !hubURL.isEmpty && !hubURL.lowercased().hasPrefix("https://") {
            throw fail(.hubURL, "'\(hubURL)' is not an https:// URL (the hub is reached over TLS only)")
        }
        if !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) {
            throw fail(.logLevel, "'\(logLevel)' is not a log level")
        }
    }
}

extension AgentConfiguration {
    /// The effective settings as YAML, in the file's format, with secrets hidden: this is printed and pasted into
    /// tickets. The API token becomes `(set)`; the webhook URL keeps its scheme, host and port only (Slack- and
    /// Teams-style webhook URLs carry their secret in the path or query, some in a user and password).
    public func yaml() throws -> String {
        var shown = self
        if !shown.apiToken.isEmpty { shown.apiToken = "(set)" }
        shown.alertWebhookURL = Self.shownURL(alertWebhookURL)
        return try ConfigurationFile.yaml(shown)
    }

    /// `url` with everything after its host and port replaced by `(hidden)`; unchanged when nothing follows.
    static func shownURL(_ url: String) -> String {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host else {
            return url.isEmpty ? url : "(set)"
        }
        let hidden =
            parts.user != nil || parts.password != nil || !(parts.path.isEmpty || parts.path == "/")
            || parts.query != nil || parts.fragment != nil
        guard hidden else { return url }
        return "\(scheme)://\(host)\(parts.port.map { ":\($0)" } ?? "")/(hidden)"
    }
}

extension Duration {
    /// Whole milliseconds, for configuration files and logs.
    var milliseconds: Int64 {
        let c = components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, for configuration files.
    var microseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000
    }
}

// Printed with the services that hold it (ServiceLifecycle logs them at debug level): the settings as `print-config`
// shows them, secrets hidden.
extension AgentConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        let settings = (try? yaml())?.split(separator: "\n").joined(separator: ", ") ?? "(unprintable)"
        return "AgentConfiguration(\(settings))"
    }
    public var debugDescription: String { description }
}
