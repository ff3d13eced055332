import ArgumentParser
import CXAgent
import Foundation

extension CXAgentCommand {
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Register this agent with a hub: generates an Ed25519 key pair and stores the credentials (0600).",
            discussion: """
                The operator prints a one-time token on the hub with `cx-hub agents enroll --store S --device D`.
                Only the public key is sent; the private key stays in <data-dir>/credentials.json.
                """)

        @OptionGroup var options: ConfigOptions

        @Option(help: "The hub's URL, e.g. https://hub.example:7443.")
        var hub: String

        @Option(help: "The one-time enrollment token printed by `cx-hub agents enroll`.")
        var token: String

        @Option(help: "The hub's CA certificate (PEM), e.g. <hub data dir>/tls/ca.pem.")
        var ca: String

        @Flag(help: "Enroll again with a new key even if credentials exist.")
        var force = false

        func run() async throws {
            let c = try options.load()
            do {
                let credentials = try await AgentEnrollment.enroll(
                    hubURL: hub, token: token, caFile: ca, directory: c.dataDirectory, force: force)
                print(
                    "enrolled \(credentials.agentID) for store \(credentials.storeID), device \(credentials.deviceID) "
                        + "with hub \(credentials.hubID.isEmpty ? credentials.hubURL : credentials.hubID)")
                print("credentials: \(AgentCredentials.path(directory: c.dataDirectory)) (mode 0600)")
            } catch let error as EnrollmentError {
                FileHandle.standardError.write(Data("cx-agent enroll: \(error)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}
