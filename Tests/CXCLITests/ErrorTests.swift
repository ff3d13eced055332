import CXTestSupport
import Foundation
import Testing

@Suite("cx errors")
struct ErrorTests {
    @Test(arguments: [["fleet"], ["events"], ["customer", "cust-1"], ["alerts"], ["config", "get"]])
    func wrongTokenIsRefusedWithAClearMessage(arguments: [String]) async throws {
        let seeded = try await SeededHub.shared()
        var environment = CX.environment(seeded.hub)
        environment["CX_TOKEN"] = "cxo_not_the_token"
        let result = try CX.run(arguments, environment: environment)
        #expect(result.status == 5)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("error: the hub refused the token (unauthorized"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    /// Every request carries the operator token: a cleartext hub URL is refused before anything is sent.
    @Test func cleartextHubURLIsRefused() throws {
        let result = try CX.run(["fleet"], environment: ["CX_HUB_URL": "http://127.0.0.1:1", "CX_TOKEN": "t"])
        #expect(result.status != 0)
        #expect(
            result.stderr.contains("'http://127.0.0.1:1' is not a hub URL; expected https://HOST[:PORT]"),
            "\(result.stderr)")
    }

    @Test func unreachableHubIsReported() throws {
        let result = try CX.run(["fleet"], environment: ["CX_HUB_URL": "https://127.0.0.1:1", "CX_TOKEN": "t"])
        #expect(result.status == 3)
        #expect(result.stderr.hasPrefix("error: cannot reach hub at https://127.0.0.1:1: "))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func untrustedCertificateIsReported() async throws {
        let seeded = try await SeededHub.shared()
        var environment = CX.environment(seeded.hub)
        environment["CX_CA_FILE"] = nil
        let result = try CX.run(["fleet"], environment: environment)
        #expect(result.status == 4)
        #expect(result.stderr.contains("TLS handshake with the hub at \(seeded.hub.url) failed"))
        #expect(result.stderr.contains("--ca"))
    }

    @Test func unreadableCAFileIsReported() async throws {
        let seeded = try await SeededHub.shared()
        var environment = CX.environment(seeded.hub)
        environment["CX_CA_FILE"] = "/nonexistent/ca.pem"
        let result = try CX.run(["fleet"], environment: environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read the CA file /nonexistent/ca.pem"))
    }

    @Test func hubURLWithoutSchemeGetsHTTPS() async throws {
        let seeded = try await SeededHub.shared()
        var environment = CX.environment(seeded.hub)
        environment["CX_HUB_URL"] = "127.0.0.1:\(seeded.hub.port)/"
        let result = try CX.run(["fleet", "--json"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
    }
}
