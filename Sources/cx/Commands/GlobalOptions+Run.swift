import ArgumentParser
import Foundation

extension GlobalOptions {
    /// Resolves the connection, runs `body` against the hub and prints its report in the chosen format.
    ///
    /// A failure is printed as one line, `error: ...`, on standard error, and the process exits with the
    /// status of its ``CLIError/Code``.
    func run(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        _ body: (HubClient, ConnectionSettings) async throws -> Report
    ) async throws {
        do {
            let settings = try ConnectionSettings.resolve(self, environment: environment)
            guard settings.token != nil else {
                throw CLIError(
                    .configuration,
                    "no operator token: pass --token, set CX_TOKEN, or run `cx login --hub URL --token T`")
            }
            let client = try HubClient(settings)
            let report: Report
            do {
                report = try await body(client, settings)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
            Self.write(report.rendered(format), to: .standardOutput)
        } catch let error as CLIError {
            Self.write("error: \(error.description)\n", to: .standardError)
            throw ExitCode(error.exitStatus)
        }
    }

    static func write(_ text: String, to handle: FileHandle) {
        handle.write(Data(text.utf8))
    }
}
