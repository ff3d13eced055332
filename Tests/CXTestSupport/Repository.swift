import Foundation

/// The repository the tests run in: tests start the programs built into `.build/debug` as real processes, and
/// read files of the repository (the protocol's specification, sources) to check them against what is served.
public enum Repository {
    /// The repository's root directory.
    public static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The path of the built product `name` (`cx`, `cx-agent`, `cx-hub`).
    public static func binary(_ name: String) -> String {
        root.appendingPathComponent(".build/debug").appendingPathComponent(name).path
    }
}
