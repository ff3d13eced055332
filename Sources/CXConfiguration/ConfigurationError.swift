/// A setting that cannot be used, and where it came from (a file, an environment variable or a setting name),
/// so that an operator knows what to fix.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var message: String
    /// The setting's key, when the error is about one setting (validation): `SettingOrigins` names where it came from.
    public var setting: String?

    public init(source: String, message: String, setting: String? = nil) {
        self.source = source
        self.message = message
        self.setting = setting
    }

    public var description: String { "configuration error in \(source): \(message)" }

    /// The same error, its source naming where the setting's value came from.
    public func naming(_ origins: SettingOrigins) -> ConfigurationError {
        guard let setting else { return self }
        var named = self
        named.source = origins.describe(setting)
        return named
    }
}

/// Where the settings came from (defaults, file, environment, flags, each overriding the one before), so that an
/// error names the place to fix: `CX_AGENT_LISTEN_PORT=70000` and `--listen-port 70000` were both reported as
/// "setting 'listen_port'".
public struct SettingOrigins: Sendable {
    public var file: String?
    /// The keys the file sets.
    public var fileKeys: Set<String>
    public var environment: [String: String]
    public var prefix: String
    /// Settings given as flags: key to flag.
    public var flags: [String: String]

    public init(
        file: String?, fileKeys: Set<String>, environment: [String: String], prefix: String, flags: [String: String]
    ) {
        self.file = file
        self.fileKeys = fileKeys
        self.environment = environment
        self.prefix = prefix
        self.flags = flags
    }

    /// "setting 'key'" and where its value came from.
    public func describe(_ key: String) -> String {
        if let flag = flags[key] { return "setting '\(key)' (flag \(flag))" }
        let variable = prefix + key.uppercased()
        if environment[variable] != nil { return "setting '\(key)' (environment variable \(variable))" }
        if let file, fileKeys.contains(key) { return "setting '\(key)' (file \(file))" }
        return "setting '\(key)'"
    }
}
