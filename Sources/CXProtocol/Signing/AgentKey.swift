import Crypto

/// An agent's Ed25519 identity: the private half stays on the agent, the hub stores only the public half.
public struct AgentSigningKey: Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init() {
        self.privateKey = Curve25519.Signing.PrivateKey()
    }

    /// Restores a key from its 32-byte seed (as stored in the agent's credentials file).
    public init(rawRepresentation: [UInt8]) throws(ProtocolError) {
        do {
            self.privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
        } catch {
            throw ProtocolError(.invalidField, "not an Ed25519 private key: \(error)")
        }
    }

    public var rawRepresentation: [UInt8] { Array(privateKey.rawRepresentation) }
    public var publicKey: AgentPublicKey { AgentPublicKey(key: privateKey.publicKey) }

    public func signature(for bytes: ArraySlice<UInt8>) -> [UInt8] {
        // Ed25519 signing of a valid key over any message cannot fail.
        Array(try! privateKey.signature(for: bytes))
    }
}

/// The public half that a hub keeps per enrolled agent.
public struct AgentPublicKey: Sendable, Hashable {
    public let key: Curve25519.Signing.PublicKey

    init(key: Curve25519.Signing.PublicKey) {
        self.key = key
    }

    public init(rawRepresentation: [UInt8]) throws(ProtocolError) {
        do {
            self.key = try Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation)
        } catch {
            throw ProtocolError(.invalidField, "not an Ed25519 public key: \(error)")
        }
    }

    public var rawRepresentation: [UInt8] { Array(key.rawRepresentation) }

    public func isValidSignature(_ signature: ArraySlice<UInt8>, for bytes: ArraySlice<UInt8>) -> Bool {
        key.isValidSignature(signature, for: bytes)
    }

    public static func == (lhs: AgentPublicKey, rhs: AgentPublicKey) -> Bool {
        lhs.rawRepresentation == rhs.rawRepresentation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rawRepresentation)
    }
}
