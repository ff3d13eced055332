import Foundation

/// Where the hub is and how to talk to it, resolved from flags, then environment, then the configuration file.
struct ConnectionSettings: Sendable, Equatable {
    /// The hub's base URL without a trailing slash, e.g. `https://hub.example:7443`.
    var hubURL: String
    /// The operator token; `nil` only for commands that do not need one.
    var token: String?
    /// A PEM file whose certificates are the only trust roots; `nil`: the system's roots.
    var caFile: String?

    /// Resolves each setting on its own: flag, else `CX_HUB_URL`/`CX_TOKEN`/`CX_CA_FILE`, else the config file, whose
    /// token and CA file are used only for the hub it names.
    static func resolve(
        _ options: GlobalOptions, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CLIError) -> ConnectionSettings {
        func env(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        let configPath = ConfigFile.path(environment: environment)
        let file = try ConfigFile.load(path: configPath) ?? ConfigFile()
        guard let hub = options.hub ?? env("CX_HUB_URL") ?? file.hub else {
            throw CLIError(
                .configuration, "no hub given: pass --hub URL, set CX_HUB_URL, or run `cx login --hub URL --token T`")
        }
        let url = try normalize(hub)
        // The saved token and CA belong to the saved hub: a --hub or CX_HUB_URL naming another must not carry that
        // hub's operator token to it (a staging host, a typo, a stray variable).
        var saved = false
        if let fileHub = file.hub { saved = try normalize(fileHub) == url }
        let token = options.token ?? env("CX_TOKEN") ?? (saved ? file.token : nil)
        let ca = options.caFile ?? env("CX_CA_FILE") ?? (saved ? file.caFile : nil)
        return ConnectionSettings(hubURL: url, token: token, caFile: ca)
    }

    /// Adds `https://` when no scheme is given and drops trailing slashes; refuses other schemes.
    static func normalize(_ url: String) throws(CLIError) -> String {
        var url = url.trimmingCharacters(in: .whitespaces)
        if !url.contains("://") {
            url = "https://" + url
        }
        while url.hasSuffix("/") {
            url.removeLast()
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "https", parsed.host?.isEmpty == false
        else {
            // TLS only: every request carries the operator token.
            throw CLIError(.configuration, "'\(url)' is not a hub URL; expected https://HOST[:PORT] (TLS only)")
        }
        return url
    }
}
