import CXConfiguration
import CXInsight
import CXProtocol
import Foundation

/// Everything `cx-hub` can be told. Defaults work on a fresh machine; a YAML file overrides them, `CX_HUB_*`
/// environment variables override the file, flags override both.
public struct HubConfiguration: Sendable, Hashable, Codable, LayeredConfiguration {
    /// Database, TLS material, admin token.
    public var dataDirectory: String = "./cx-hub-data"
    public var listenHost: String = "127.0.0.1"
    /// 0 picks a free port (printed on start-up).
    public var listenPort: Int = 7443
    /// PEM certificate chain; empty: `<data>/tls/hub.pem` as written by `cx-hub init`.
    public var tlsCertificate: String = ""
    /// PEM private key; empty: `<data>/tls/hub.key`.
    public var tlsKey: String = ""
    /// Largest request body, at most the protocol's 8 MiB; a larger `Content-Length` is refused before the body is
    /// read.
    public var maxFrameBytes: Int = 8 * 1024 * 1024
    /// Most sync request bytes held at once, read or being read, before they are authenticated; beyond it a request
    /// is answered 503 `overloaded` with `Retry-After` before its body is read. At least `max_frame_bytes`.
    public var maxSyncBytesInFlight: Int = 64 * 1024 * 1024
    /// HLCs further ahead of the hub's clock than this, after the sender's measured offset is removed, are refused.
    public var maxClockDrift: Duration = .seconds(300)
    /// An agent whose clock differs from the hub's by more than this is flagged as skewed in the fleet view.
    public var skewThreshold: Duration = .seconds(120)
    /// Most downstream items one ack carries; `more` tells the agent to ask again.
    public var maxDownstreamItems: Int = 500
    /// How long an enrollment token stays valid.
    public var enrollmentTokenTTL: Duration = .seconds(24 * 3600)
    /// An agent that has not synced for this long is shown as `stale` by `cx fleet`.
    public var staleAfter: Duration = .seconds(300)
    /// SQLite page cache in KiB.
    public var cacheKiB: Int = 131_072
    /// The calling code the stores' agents hash national phone numbers with (their `default_country_code`): the hub
    /// hashes an identifier a CX lead types (`cx customer`, `cx erase`) the same way. Empty: as written.
    public var defaultCountryCode: String = ""
    public var logLevel: String = "info"

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataDirectory = "data_directory"
        case listenHost = "listen_host"
        case listenPort = "listen_port"
        case tlsCertificate = "tls_certificate"
        case tlsKey = "tls_key"
        case maxFrameBytes = "max_frame_bytes"
        case maxSyncBytesInFlight = "max_sync_bytes_in_flight"
        case maxClockDrift = "max_clock_drift_seconds"
        case skewThreshold = "skew_threshold_seconds"
        case maxDownstreamItems = "max_downstream_items"
        case enrollmentTokenTTL = "enrollment_token_ttl_seconds"
        case staleAfter = "stale_after_seconds"
        case cacheKiB = "cache_kib"
        case defaultCountryCode = "default_country_code"
        case logLevel = "log_level"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = HubConfiguration()
        func seconds(_ key: CodingKeys, _ def: Duration) throws -> Duration {
            try c.decodeIfPresent(Int64.self, forKey: key).map { .seconds($0) } ?? def
        }
        dataDirectory = try c.decodeIfPresent(String.self, forKey: .dataDirectory) ?? d.dataDirectory
        listenHost = try c.decodeIfPresent(String.self, forKey: .listenHost) ?? d.listenHost
        listenPort = try c.decodeIfPresent(Int.self, forKey: .listenPort) ?? d.listenPort
        tlsCertificate = try c.decodeIfPresent(String.self, forKey: .tlsCertificate) ?? d.tlsCertificate
        tlsKey = try c.decodeIfPresent(String.self, forKey: .tlsKey) ?? d.tlsKey
        maxFrameBytes = try c.decodeIfPresent(Int.self, forKey: .maxFrameBytes) ?? d.maxFrameBytes
        maxSyncBytesInFlight =
            try c.decodeIfPresent(Int.self, forKey: .maxSyncBytesInFlight) ?? d.maxSyncBytesInFlight
        maxClockDrift = try seconds(.maxClockDrift, d.maxClockDrift)
        skewThreshold = try seconds(.skewThreshold, d.skewThreshold)
        maxDownstreamItems = try c.decodeIfPresent(Int.self, forKey: .maxDownstreamItems) ?? d.maxDownstreamItems
        enrollmentTokenTTL = try seconds(.enrollmentTokenTTL, d.enrollmentTokenTTL)
        staleAfter = try seconds(.staleAfter, d.staleAfter)
        cacheKiB = try c.decodeIfPresent(Int.self, forKey: .cacheKiB) ?? d.cacheKiB
        defaultCountryCode = try c.decodeIfPresent(String.self, forKey: .defaultCountryCode) ?? d.defaultCountryCode
        logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? d.logLevel
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dataDirectory, forKey: .dataDirectory)
        try c.encode(listenHost, forKey: .listenHost)
        try c.encode(listenPort, forKey: .listenPort)
        try c.encode(tlsCertificate, forKey: .tlsCertificate)
        try c.encode(tlsKey, forKey: .tlsKey)
        try c.encode(maxFrameBytes, forKey: .maxFrameBytes)
        try c.encode(maxSyncBytesInFlight, forKey: .maxSyncBytesInFlight)
        try c.encode(maxClockDrift.components.seconds, forKey: .maxClockDrift)
        try c.encode(skewThreshold.components.seconds, forKey: .skewThreshold)
        try c.encode(maxDownstreamItems, forKey: .maxDownstreamItems)
        try c.encode(enrollmentTokenTTL.components.seconds, forKey: .enrollmentTokenTTL)
        try c.encode(staleAfter.components.seconds, forKey: .staleAfter)
        try c.encode(cacheKiB, forKey: .cacheKiB)
        try c.encode(defaultCountryCode, forKey: .defaultCountryCode)
        try c.encode(logLevel, forKey: .logLevel)
    }

    /// The certificate path in effect.
    public var certificatePath: String { tlsCertificate.isEmpty ? dataDirectory + "/tls/hub.pem" : tlsCertificate }
    /// The key path in effect.
    public var keyPath: String { tlsKey.isEmpty ? dataDirectory + "/tls/hub.key" : tlsKey }
    public var databasePath: String { dataDirectory + "/hub.sqlite" }
    /// `defaultCountryCode` as the hasher takes it: nil for none.
    public var countryCode: String? { defaultCountryCode.isEmpty ? nil : defaultCountryCode }
}

/// A configuration problem, naming the source (file, variable) and the setting.
public typealias HubConfigurationError = ConfigurationError

extension HubConfiguration {
    public static let environmentPrefix = "CX_HUB_"
    public static var knownKeys: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    public mutating func applyEnvironment(_ env: [String: String]) throws {
        let overrides = EnvironmentOverrides(env, prefix: Self.environmentPrefix)
        func string(_ key: CodingKeys) -> String? { overrides.string(key.rawValue) }
        func int(_ key: CodingKeys) throws -> Int64? { try overrides.int(key.rawValue) }
        if let v = string(.dataDirectory) { dataDirectory = v }
        if let v = string(.listenHost) { listenHost = v }
        if let v = try int(.listenPort) { listenPort = Int(v) }
        if let v = string(.tlsCertificate) { tlsCertificate = v }
        if let v = string(.tlsKey) { tlsKey = v }
        if let v = try int(.maxFrameBytes) { maxFrameBytes = Int(v) }
        if let v = try int(.maxSyncBytesInFlight) { maxSyncBytesInFlight = Int(v) }
        if let v = try int(.maxClockDrift) { maxClockDrift = .seconds(v) }
        if let v = try int(.skewThreshold) { skewThreshold = .seconds(v) }
        if let v = try int(.maxDownstreamItems) { maxDownstreamItems = Int(v) }
        if let v = try int(.enrollmentTokenTTL) { enrollmentTokenTTL = .seconds(v) }
        if let v = try int(.staleAfter) { staleAfter = .seconds(v) }
        if let v = try int(.cacheKiB) { cacheKiB = Int(v) }
        if let v = string(.defaultCountryCode) { defaultCountryCode = v }
        if let v = string(.logLevel) { logLevel = v }
    }

    /// Refuses settings that cannot work, naming the setting.
    public func validate() throws {
        func fail(_ key: CodingKeys, _ why: String) -> HubConfigurationError {
            HubConfigurationError(source: "setting '\(key.rawValue)'", message: why, setting: key.rawValue)
        }
        if dataDirectory.isEmpty { throw fail(.dataDirectory, "must not be empty") }
        if !(0...65535).contains(listenPort) { throw fail(.listenPort, "\(listenPort) is not a TCP port") }
        // Upper bounds too: the hub multiplies these (seconds to milliseconds, KiB to bytes), and a value near
        // Int64.max trapped it at start; a frame limit above the protocol's was shown but not applied.
        func within(_ key: CodingKeys, _ value: Int64, _ range: ClosedRange<Int64>) throws {
            if !range.contains(value) {
                throw fail(key, "must be within \(range.lowerBound)...\(range.upperBound)")
            }
        }
        try within(.maxFrameBytes, Int64(maxFrameBytes), 4096...Int64(ProtocolLimits.default.maxFrameBytes))
        if maxSyncBytesInFlight < maxFrameBytes {
            throw fail(.maxSyncBytesInFlight, "must be at least max_frame_bytes (\(maxFrameBytes))")
        }
        try within(.maxSyncBytesInFlight, Int64(maxSyncBytesInFlight), 4096...(1 << 36))
        try within(.maxClockDrift, maxClockDrift.components.seconds, 1...86_400)
        try within(.skewThreshold, skewThreshold.components.seconds, 1...86_400)
        try within(.maxDownstreamItems, Int64(maxDownstreamItems), 1...100_000)
        if !HubStore.enrollmentTTLRange.contains(enrollmentTokenTTL) {
            throw fail(.enrollmentTokenTTL, "must be from 60 seconds to 30 days (2592000 seconds)")
        }
        if staleAfter < .seconds(1) || staleAfter > .seconds(31_536_000) {
            throw fail(.staleAfter, "must be from 1 second to 365 days (31536000 seconds)")
        }
        try within(.cacheKiB, Int64(cacheKiB), 1024...(16 << 20))
        if let problem = CustomerIdentifierHasher.countryCodeProblem(defaultCountryCode) {
            throw fail(.defaultCountryCode, problem)
        }
        if !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) {
            throw fail(.logLevel, "'\(logLevel)' is not a log level")
        }
    }

    /// The effective configuration as YAML.
    public func yaml() throws -> String { try ConfigurationFile.yaml(self) }
}
