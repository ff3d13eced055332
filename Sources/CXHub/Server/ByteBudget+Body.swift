import Hummingbird
import Synchronization
import NIOCore

/// Why a sync body was not read whole.
enum SyncBodyRefusal: Error {
    /// More than the frame limit arrived.
    case tooLarge
    /// Its bytes did not fit beside what other requests hold.
    case overloaded
    /// It did not arrive within its deadline.
    case tooSlow(Duration)
    /// It could not be read (the connection closed, a read error).
    case unreadable(String)
}

extension ByteBudget {
    /// Slowest transfer a sync body may take, after `bodyGrace`: 16 KiB/s, an 8 MiB frame in about 9 minutes.
    static let minimumBodyBytesPerSecond = 16 * 1024
    static let bodyGrace: Duration = .seconds(30)

    /// How long a body of `length` bytes may take to arrive.
    static func bodyDeadline(length: Int) -> Duration {
        bodyGrace + .seconds(max(0, length) / minimumBodyBytesPerSecond)
    }

    /// Reads `body`, reserving its bytes here as they arrive, within `deadline`, and returns it: its bytes stay
    /// reserved until the caller releases them (`readableBytes`) once the body is handled. On a refusal nothing stays
    /// reserved (`HeldBytes` counts them apart from the body, which a refused read loses).
    ///
    /// Reserving the declared length up front let anyone, without credentials, hold the whole budget with a few
    /// connections that announce 8 MiB and then send a byte a minute: every agent's sync was shed for as long as
    /// they stayed open. Now a request holds only what it has sent, and no longer than its deadline.
    func collect(_ body: RequestBody, upTo limit: Int, deadline: Duration) async throws(SyncBodyRefusal) -> ByteBuffer {
        let held = HeldBytes(budget: self)
        do {
            return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask {
                    var collected = ByteBuffer()
                    for try await chunk in body {
                        guard collected.readableBytes + chunk.readableBytes <= limit else {
                            throw SyncBodyRefusal.tooLarge
                        }
                        guard held.reserve(chunk.readableBytes) else { throw SyncBodyRefusal.overloaded }
                        var chunk = chunk
                        collected.writeBuffer(&chunk)
                    }
                    return collected
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    throw SyncBodyRefusal.tooSlow(deadline)
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let body = first else {
                    throw SyncBodyRefusal.tooSlow(deadline)
                }
                return body
            }
        } catch let refusal as SyncBodyRefusal {
            held.releaseAll()
            throw refusal
        } catch {
            held.releaseAll()
            throw .unreadable("\(error)")
        }
    }
}

/// What one request has reserved so far, released whole when it is refused.
final class HeldBytes: Sendable {
    let budget: ByteBudget
    private let held = Mutex(0)

    init(budget: ByteBudget) { self.budget = budget }

    func reserve(_ bytes: Int) -> Bool {
        guard budget.reserve(bytes) else { return false }
        held.withLock { $0 += bytes }
        return true
    }

    func releaseAll() {
        let bytes = held.withLock { h in
            defer { h = 0 }
            return h
        }
        budget.release(bytes)
    }
}
