import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Database files only their owner may read.
///
/// The hub's database holds the fleet key, with which anyone can reverse the keyed hashes of e-mail addresses and
/// phone numbers by dictionary; an agent's holds its store's events. SQLite creates a database with the process's
/// umask, 0644 under the usual 022, and its `-wal` and `-shm` files with the database's mode.
public enum PrivateDatabaseFile {
    /// Creates `path` empty with mode 0600 when it does not exist (SQLite takes an empty file as a new database), else
    /// narrows it and its `-wal` and `-shm` files to 0600. Call before SQLite opens it.
    public static func prepare(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            close(fd)
            return
        }
        guard errno == EEXIST else { throw error("cannot create", path) }
        for file in [path, path + "-wal", path + "-shm"] where chmod(file, 0o600) != 0 && errno != ENOENT {
            throw error("cannot make private (mode 0600)", file)
        }
    }

    static func error(_ what: String, _ path: String) -> PrivateFileError {
        PrivateFileError(message: "\(what) \(path): \(String(cString: strerror(errno)))")
    }
}

/// A database file that could not be created or made private; nothing was opened.
public struct PrivateFileError: Error, Sendable, CustomStringConvertible {
    public var code = "file_permissions"
    public var message: String
    public var description: String { "\(code): \(message)" }
}
