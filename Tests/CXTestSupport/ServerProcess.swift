import Foundation

/// One run of a built server (`cx-hub run`, `cx-agent run`) as a real process.
///
/// Servers are started on port 0 so that tests can run side by side; the port comes from the
/// "<name> listening on" line. Output goes to files, which a test can still read after the process died.
public class ServerProcess: @unchecked Sendable {
    /// The running process.
    public let process = Process()
    /// Where the process's standard output goes.
    public let stdoutPath: String
    /// Where the process's standard error goes.
    public let stderrPath: String
    /// The port the server listens on, once `waitUntilListening()` returned.
    public private(set) var port = 0
    private let name: String

    /// Starts the built product `name` with `arguments`, the test process's environment plus `environment`, and
    /// its output in `<logPrefix>.stdout` and `<logPrefix>.stderr`; does not wait until it listens.
    public init(
        _ name: String, _ arguments: [String], environment: [String: String] = [:], logPrefix: String
    ) throws {
        self.name = name
        stdoutPath = logPrefix + ".stdout"
        stderrPath = logPrefix + ".stderr"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Repository.binary(name))
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        ChildProcesses.track(process.processIdentifier)
    }

    /// Everything the process wrote to standard error so far.
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the "listening on" line and records the port; throws if the process exits first or takes longer
    /// than `timeout`.
    public func waitUntilListening(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix("\(name) listening on") }),
                let p = line.split(separator: ":").last.flatMap({ Int($0) })
            {
                port = p
                return
            }
            if !process.isRunning {
                throw TestFailure("\(name) exited with \(process.terminationStatus): \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("\(name) did not listen within \(timeout): \(stderr)")
    }

    /// Sends `signal` if the process still runs (SIGTERM: a graceful stop; SIGKILL: a crash), and waits until it
    /// has exited.
    public func kill(_ signal: Int32) {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, signal)
        }
        process.waitUntilExit()
        ChildProcesses.untrack(process.processIdentifier)
    }

    deinit {
        kill(SIGKILL)
    }
}
