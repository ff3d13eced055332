import Foundation

/// An exclusive lock on a data directory: one running agent owns the buffer; other commands talk to it
/// over its API instead of writing behind its back.
public final class AgentLock: Sendable {
    let fd: Int32

    /// Takes the lock, or returns nil when another process holds it.
    public static func acquire(directory: String) throws -> AgentLock? {
        // 0700 as the buffer asks: the lock is taken first, and a directory it created 0755 stayed so.
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = (directory as NSString).appendingPathComponent("agent.lock")
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw BufferError(code: "lock_failed", message: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        return AgentLock(fd: fd)
    }

    init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
