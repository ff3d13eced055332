import Foundation

/// A fresh directory for one test's files, removed when the value goes away, so that tests running side by side
/// never share state on disk.
public final class TempDir: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates an empty directory under the system's temporary directory.
    public init() {
        path = NSTemporaryDirectory() + "cxsync-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A failure of the test machinery itself (a process that would not start, a fixture that could not be set up),
/// thrown so that the test fails with the reason instead of an unrelated assertion.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong, with whatever output explains it.
    public var description: String

    /// A failure described by `description`.
    public init(_ description: String) {
        self.description = description
    }
}
