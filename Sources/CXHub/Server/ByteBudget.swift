import Synchronization

/// Bytes held at once by requests not yet authenticated (sync bodies): a request reserves what it may read before it
/// reads it, and is shed when the reservation does not fit.
final class ByteBudget: Sendable {
    let limit: Int
    private let used = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// Reserves `bytes`; false, reserving nothing, when they do not fit beside what is reserved.
    func reserve(_ bytes: Int) -> Bool {
        used.withLock { used in
            guard bytes <= limit - used else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) { used.withLock { $0 -= bytes } }
}
