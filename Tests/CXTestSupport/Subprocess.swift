import Foundation
import Synchronization

/// The result of a finished subprocess.
public struct ProcessResult: Sendable {
    /// The exit status.
    public var status: Int32
    /// Everything the process wrote to standard output.
    public var stdout: String
    /// Everything the process wrote to standard error.
    public var stderr: String

    /// Output lines without their line ends (CSV ends lines with CRLF).
    public var lines: [String] {
        stdout.split(whereSeparator: \.isNewline).map(String.init)
    }
}

/// Commands run to completion, as a user runs the CLIs.
public enum Subprocess {
    /// Runs `executable` to completion with `environment` as its whole environment (the test process's when nil).
    ///
    /// Standard output and standard error are drained at the same time, so a command that writes a lot to one of
    /// them cannot block on a full pipe; a command that hangs is killed after `timeout` so the test fails instead.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment {
            p.environment = environment
        }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let errors = Mutex(Data())
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            errors.withLock { $0 = data }
            group.leave()
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        watchdog.cancel()
        return ProcessResult(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: errors.withLock { $0 }, as: UTF8.self))
    }

    /// Runs the built product `name` to completion with the test process's environment plus `environment`.
    public static func run(
        product name: String, _ arguments: [String], environment: [String: String] = [:]
    ) throws -> ProcessResult {
        try run(
            Repository.binary(name), arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }
}

/// Child processes and directories that must not outlive the test process: a server that no test stops (a shared
/// fixture, or a test that failed half-way) is killed at exit, and a directory no deinit removes is deleted then.
enum ChildProcesses {
    private static let pids = Mutex<Set<Int32>>([])
    private static let directories = Mutex<[String]>([])
    private static let installed = Mutex(false)

    /// Kills `pid` at exit unless it is untracked first.
    static func track(_ pid: Int32) {
        pids.withLock { _ = $0.insert(pid) }
        installAtExit()
    }

    /// Forgets `pid` once it has exited (and been reaped), so that a later process given the same id is spared.
    static func untrack(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    /// Removes `directory` at exit.
    static func removeAtExit(_ directory: String) {
        directories.withLock { $0.append(directory) }
        installAtExit()
    }

    private static func installAtExit() {
        installed.withLock { done in
            guard !done else { return }
            done = true
            atexit {
                for pid in ChildProcesses.pids.withLock({ Array($0) }) {
                    kill(pid, SIGKILL)
                }
                for directory in ChildProcesses.directories.withLock({ $0 }) {
                    try? FileManager.default.removeItem(atPath: directory)
                }
            }
        }
    }
}
