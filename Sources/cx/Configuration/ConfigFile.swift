import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file `cx login` writes: hub URL, operator token and CA file, read when flags and environment are silent.
///
/// Its location is `CX_CONFIG` when set, else `$XDG_CONFIG_HOME/cx/config.json`, else `~/.config/cx/config.json`.
struct ConfigFile: Codable, Sendable, Equatable {
    var hub: String?
    var token: String?
    var caFile: String?

    enum CodingKeys: String, CodingKey {
        case hub
        case token
        case caFile = "ca_file"
    }

    /// Where the configuration file lives for this environment.
    static func path(environment: [String: String]) -> String {
        if let explicit = environment["CX_CONFIG"], !explicit.isEmpty {
            return explicit
        }
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            return xdg + "/cx/config.json"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.config/cx/config.json"
    }

    /// Reads the file at `path`; `nil` when it does not exist.
    static func load(path: String) throws(CLIError) -> ConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIError(.configuration, "cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(ConfigFile.self, from: data)
        } catch {
            throw CLIError(.configuration, "the configuration file \(path) is not valid JSON: \(error)")
        }
    }

    /// Writes the file with mode 0600 (its directory 0700), replacing any previous one atomically.
    func save(path: String) throws(CLIError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(
                atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError(.configuration, "cannot create \(directory): \(error.localizedDescription)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
        } catch {
            throw CLIError(.configuration, "cannot encode the configuration: \(error)")
        }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CLIError(.configuration, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        var failure: String?
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count || fchmod(fd, 0o600) != 0 || fsync(fd) != 0 {
            failure = String(cString: strerror(errno))
        }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 {
            failure = String(cString: strerror(errno))
        }
        if let failure {
            unlink(temporary)
            throw CLIError(.configuration, "cannot write \(path): \(failure)")
        }
    }
}
