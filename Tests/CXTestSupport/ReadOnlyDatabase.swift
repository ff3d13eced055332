import GRDB

/// A SQLite file of a test's process (the agent's buffer, the hub's database), opened read-only: the process may
/// still be writing it, and checking it must not change it.
public func readOnlyDatabase(_ path: String) throws -> DatabaseQueue {
    var config = Configuration()
    config.readonly = true
    return try DatabaseQueue(path: path, configuration: config)
}
