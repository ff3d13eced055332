import AsyncHTTPClient
import CXProtocol
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// `cx-agent enroll`: registers a fresh Ed25519 public key with the hub under a one-time token.
public enum AgentEnrollment {
    /// Enrolls the agent whose data directory is `directory`; returns the stored credentials.
    ///
    /// The private key never leaves the box: only its public half is sent. The CA file is copied into the data
    /// directory, so that later runs do not depend on where it was first found.
    public static func enroll(
        hubURL: String, token: String, caFile: String, directory: String, force: Bool = false
    ) async throws -> AgentCredentials {
        let base = hubURL.hasSuffix("/") ? String(hubURL.dropLast()) : hubURL
        guard base.hasPrefix("https://") else {
            throw EnrollmentError(code: "invalid_hub_url", message: "'\(hubURL)' must be an https:// URL")
        }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !force, let existing = try AgentCredentials.load(directory: directory) {
            throw EnrollmentError(
                code: "already_enrolled",
                message: "this agent is enrolled as \(existing.agentID) with \(existing.hubURL) (store "
                    + "\(existing.storeID)); pass --force to enroll again with a new key")
        }
        let caPEM: [UInt8]
        do {
            caPEM = Array(try Data(contentsOf: URL(fileURLWithPath: caFile)))
            _ = try NIOSSLCertificate.fromPEMBytes(caPEM)
        } catch {
            throw EnrollmentError(code: "bad_ca", message: "\(caFile) is not a readable PEM certificate: \(error)")
        }
        let agentID = try BufferStore.loadOrCreateAgentID(directory: directory)
        let key = AgentSigningKey()
        let client = try HubClient.makeHTTPClient(caPEM: caPEM, timeout: .seconds(30))
        do {
            let credentials = try await register(
                client: client, base: base, token: token, agentID: agentID, key: key, caPEM: caPEM, directory: directory
            )
            try? await client.shutdown()
            return credentials
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    static func register(
        client: HTTPClient, base: String, token: String, agentID: String, key: AgentSigningKey, caPEM: [UInt8],
        directory: String
    ) async throws -> AgentCredentials {
        var request = HTTPClientRequest(url: base + "/v1/enroll")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        let body: [String: String] = [
            "token": token, "agent_id": agentID,
            "public_key": Data(key.publicKey.rawRepresentation).base64EncodedString(),
        ]
        request.body = .bytes(ByteBuffer(bytes: Array(try JSONEncoder().encode(body))))
        let status: UInt
        let answer: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            status = response.status.code
            answer = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw EnrollmentError(code: "hub_unreachable", message: "cannot reach the hub at \(base): \(error)")
        }
        struct Reply: Decodable {
            var agent_id: String?
            var store_id: String?
            var device_id: String?
            var hub_id: String?
            var fleet_key: String?
            var code: String?
            var message: String?
        }
        let reply = try? JSONDecoder().decode(Reply.self, from: Data(answer.readableBytesView))
        guard status == 200, let reply, let store = reply.store_id, let device = reply.device_id else {
            throw EnrollmentError(
                code: reply?.code ?? "enrollment_refused",
                message: "the hub refused enrollment (HTTP \(status)): "
                    + (reply?.message ?? String(String(buffer: answer).prefix(300))))
        }
        try AgentCredentials.writePrivate(caPEM, to: AgentCredentials.caPath(directory: directory))
        chmod(AgentCredentials.caPath(directory: directory), 0o644)
        let credentials = AgentCredentials(
            hubURL: base, hubID: reply.hub_id ?? "", agentID: reply.agent_id ?? agentID, storeID: store,
            deviceID: device, privateKey: Data(key.rawRepresentation).base64EncodedString(),
            enrolledAt: ISO8601DateFormatter().string(from: Date()), fleetKey: reply.fleet_key)
        try credentials.save(directory: directory)
        return credentials
    }
}
