import CXProtocol
import Foundation

/// What enrollment leaves in the data directory: the hub to talk to, the identity it registered and the
/// agent's private signing key. Written with mode 0600; the hub's CA certificate sits beside it.
public struct AgentCredentials: Sendable, Hashable, Codable {
    public var hubURL: String
    public var hubID: String
    public var agentID: String
    public var storeID: String
    public var deviceID: String
    /// Ed25519 private key, base64 of its 32-byte raw form.
    public var privateKey: String
    public var enrolledAt: String
    /// Base64 fleet key from the hub: customer identifiers are hashed with it before storage, so that the hub
    /// joins a customer's events across stores without seeing the identifier.
    public var fleetKey: String?

    enum CodingKeys: String, CodingKey {
        case hubURL = "hub_url"
        case hubID = "hub_id"
        case agentID = "agent_id"
        case storeID = "store_id"
        case deviceID = "device_id"
        case privateKey = "private_key"
        case enrolledAt = "enrolled_at"
        case fleetKey = "fleet_key"
    }

    public static let fileName = "credentials.json"
    public static let caFileName = "hub-ca.pem"

    public static func path(directory: String) -> String {
        (directory as NSString).appendingPathComponent(fileName)
    }

    public static func caPath(directory: String) -> String {
        (directory as NSString).appendingPathComponent(caFileName)
    }

    /// The stored credentials, nil when the agent was never enrolled.
    public static func load(directory: String) throws -> AgentCredentials? {
        let file = path(directory: directory)
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        do {
            return try JSONDecoder().decode(AgentCredentials.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        } catch {
            throw EnrollmentError(code: "bad_credentials", message: "\(file) cannot be read: \(error)")
        }
    }

    /// Writes atomically with mode 0600: the file holds a private key.
    public func save(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Self.writePrivate(Array(try encoder.encode(self)), to: Self.path(directory: directory))
    }

    public func signingKey() throws -> AgentSigningKey {
        guard let raw = Data(base64Encoded: privateKey) else {
            throw EnrollmentError(code: "bad_credentials", message: "private_key in \(Self.fileName) is not base64")
        }
        do {
            return try AgentSigningKey(rawRepresentation: Array(raw))
        } catch {
            throw EnrollmentError(code: "bad_credentials", message: "private_key in \(Self.fileName): \(error)")
        }
    }

    /// Creates the file 0600 before any byte is written, then renames it into place.
    static func writePrivate(_ bytes: [UInt8], to path: String) throws {
        let temp = path + ".tmp"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw EnrollmentError(
                code: "io_error", message: "cannot create \(temp): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temp, path) == 0 else {
            unlink(temp)
            throw EnrollmentError(
                code: "io_error", message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

extension AgentConfiguration {
    /// The configuration of an agent enrolled with `credentials`: it serves the enrolled store only. A different
    /// `store_id` in the configuration is refused.
    public func bound(to credentials: AgentCredentials?) throws -> AgentConfiguration {
        guard let credentials else { return self }
        var c = self
        if c.storeID.isEmpty {
            c.storeID = credentials.storeID
        } else if c.storeID != credentials.storeID {
            throw BufferError(
                code: "store_mismatch",
                message: "store_id is '\(c.storeID)' but this agent is enrolled for store '\(credentials.storeID)'")
        }
        return c
    }
}

/// Enrollment or credential failure, with a stable code and what the operator should do.
public struct EnrollmentError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

// ServiceLifecycle logs every service it runs at debug level, and a struct's default description prints its fields:
// the private key and the fleet key went to the log with the services that hold the credentials.
extension AgentCredentials: CustomStringConvertible, CustomDebugStringConvertible {
    /// Who the agent is, without its keys.
    public var description: String {
        "AgentCredentials(agent_id: \(agentID), store_id: \(storeID), device_id: \(deviceID), hub: "
            + "\(AgentConfiguration.shownURL(hubURL)), private_key: (hidden), fleet_key: "
            + "\(fleetKey == nil ? "none" : "(hidden)"))"
    }
    public var debugDescription: String { description }
}
