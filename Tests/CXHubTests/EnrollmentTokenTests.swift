import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import Testing

@testable import CXHub

/// An enrollment token is a key to the fleet until it is used: bounded in time, and its refusals tell a caller
/// nothing about the fleet.
@Suite("Enrollment tokens")
struct EnrollmentTokenTests {
    @Test(
        "a token's validity is 60 seconds to 30 days",
        arguments: [(59, false), (60, true), (2_592_000, true), (2_592_001, false), (Int64.max, false)])
    func validityIsBounded(_ seconds: Int64, _ accepted: Bool) throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        defer { try? store.close() }
        if accepted {
            let token = try store.issueEnrollmentToken(store: "store-a", device: "kiosk", ttl: .seconds(seconds))
            #expect(token.expiresAt > Int64(Date().timeIntervalSince1970 * 1000) + (seconds - 5) * 1000)
        } else {
            let error = #expect(throws: HubError.self) {
                try store.issueEnrollmentToken(store: "store-a", device: "kiosk", ttl: .seconds(seconds))
            }
            #expect(error?.code == "invalid_request")
            #expect(error?.message.hasPrefix("ttl must be from 60 seconds to 30 days") == true)
        }
    }

    @Test("a used token is refused without naming the agent that used it")
    func usedTokenNamesNoAgent() async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        defer { try? store.close() }
        let token = try store.issueEnrollmentToken(store: "store-a", device: "kiosk", ttl: .seconds(600))
        _ = try await store.enroll(
            token: token.token, agentID: "agent-secret-7", publicKey: AgentSigningKey().publicKey.rawRepresentation)
        let error = await #expect(throws: HubError.self) {
            try await store.enroll(
                token: token.token, agentID: "agent-other", publicKey: AgentSigningKey().publicKey.rawRepresentation)
        }
        #expect(error?.code == "invalid_token")
        #expect(error?.message == "the enrollment token was already used")
    }
}
