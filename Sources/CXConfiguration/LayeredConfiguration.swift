/// A server's settings as both executables layer them: defaults, then a YAML file, then `PREFIX_*` environment
/// variables, then flags; validated once, an error naming where the bad value came from.
public protocol LayeredConfiguration: Decodable {
    /// The defaults.
    init()
    /// `CX_AGENT_` or `CX_HUB_`.
    static var environmentPrefix: String { get }
    /// The keys a file may set.
    static var knownKeys: Set<String> { get }
    /// Applies the `environmentPrefix` variables.
    mutating func applyEnvironment(_ environment: [String: String]) throws
    /// Refuses settings that cannot work; an error about one setting carries its key (`ConfigurationError.setting`).
    func validate() throws
}

extension LayeredConfiguration {
    /// Defaults, then the YAML file (if any), then the environment, then the flags (`applyingFlags`; `flags` names
    /// them by setting key); validated once (a flag may correct a bad value from the environment), an error naming
    /// the flag, variable or file that gave the bad value.
    public static func load(
        file: String?, environment: [String: String], flags: [String: String] = [:],
        applyingFlags: (inout Self) -> Void = { _ in }
    ) throws -> Self {
        var config = Self()
        var fileKeys: Set<String> = []
        if let file, let decoded = try ConfigurationFile.decode(Self.self, path: file, knownKeys: knownKeys) {
            config = decoded.settings
            fileKeys = decoded.keys
        }
        try config.applyEnvironment(environment)
        applyingFlags(&config)
        do {
            try config.validate()
        } catch let error as ConfigurationError {
            throw error.naming(
                SettingOrigins(
                    file: file, fileKeys: fileKeys, environment: environment, prefix: environmentPrefix, flags: flags))
        }
        return config
    }
}

extension LayeredConfiguration {
    /// A warning for each `environmentPrefix` variable that names no setting, with the nearest one that does: a
    /// misspelt `CX_AGENT_QUOTA_BYTE` changed nothing, without a word. Warned about at start, not refused: other
    /// tools share the prefix (`cx` reads `CX_HUB_URL`), and they are passed in `others`.
    public static func unknownEnvironmentVariables(_ environment: [String: String], others: Set<String> = [])
        -> [String]
    {
        environment.keys.filter { $0.hasPrefix(environmentPrefix) && !others.contains($0) }.sorted().compactMap {
            name in
            let key = String(name.dropFirst(environmentPrefix.count)).lowercased()
            guard !knownKeys.contains(key) else { return nil }
            let hint = ConfigurationFile.nearest(key, in: knownKeys).map {
                " (did you mean \(environmentPrefix)\($0.uppercased())?)"
            }
            return "environment variable \(name) names no setting and is ignored\(hint ?? "")"
        }
    }
}
