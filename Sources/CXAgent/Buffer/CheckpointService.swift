import AsyncAlgorithms
import GRDB
import GRDBSQLite
import Logging
import ServiceLifecycle

/// Copies the buffer's WAL into the main database file in the background, on a connection of its own.
///
/// Left to SQLite, the checkpoint runs inside the commit that crosses `wal_autocheckpoint`: that commit, and
/// every request waiting behind it, stalled for a quarter of a second every ~40 MiB of WAL (the p99 ack latency
/// of enriched ingest was 240 ms against 35 ms without checkpoints). A passive checkpoint from another
/// connection runs beside the writer instead. Each turn repeats it until the WAL is copied whole, so that the
/// writer's next transaction can start the WAL over; the writer's own checkpoint stays as the fallback for a
/// WAL that this service cannot keep short (a reader holding an old snapshot, a process without this service).
///
/// SQLite starts the WAL over only in a transaction that began with every frame copied. Under sustained ingest
/// the writer is always inside a transaction when a round here finishes, so the WAL never started over and grew
/// until the writer's own checkpoint stalled a commit for 50-100 ms about once a second (measured under
/// enriched ingest). Once the WAL holds `restartFrames`, the frames appended since the last round are copied
/// from the writer's own queue, between two group commits, and the WAL starts over: a pause of the same order
/// (it is mostly the database file's fsync), but only once per `restartFrames`, and rounds every 100 ms keep
/// the rest of the copying off the writer.
public struct CheckpointService: Service {
    let store: BufferStore
    let interval: Duration
    let restartFrames: Int
    let logger: Logger

    public init(
        store: BufferStore, interval: Duration = .milliseconds(100), restartFrames: Int = 16384, logger: Logger
    ) {
        self.store = store
        self.interval = interval
        self.restartFrames = restartFrames
        self.logger = logger
    }

    public func run() async throws {
        var configuration = Configuration()
        // A checkpoint that meets the writer's own (the fallback) skips its turn rather than waiting.
        configuration.busyMode = .immediateError
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let connection: DatabaseQueue
        do {
            connection = try DatabaseQueue(path: store.path, configuration: configuration)
        } catch {
            // Optional: without it the writer's own checkpoints keep the WAL bounded, with their stalls. Waits for
            // shutdown instead of returning, which would end the service group, and the agent with it.
            logger.error("background checkpoints disabled", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                let (frames, copied) = try await connection.writeWithoutTransaction { db in try Self.catchUp(db) }
                if frames >= restartFrames && frames == copied && !Task.isCancelled {
                    _ = try await store.pool.writeWithoutTransaction { db in try Self.catchUp(db, maxRounds: 1) }
                }
            } catch is CancellationError {
                break
            } catch let error as DatabaseError where error.resultCode == .SQLITE_INTERRUPT {
                break  // cancelled while the writer's queue ran the step
            } catch {
                logger.warning("background checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
        try connection.close()
    }

    /// Passive checkpoints until the WAL is copied whole or `maxRounds` passed (each round copies what the
    /// writer appended during the previous one); returns the WAL's frames and how many of them are copied.
    @discardableResult
    public static func catchUp(_ db: Database, maxRounds: Int = 8) throws -> (frames: Int, copied: Int) {
        var log: Int32 = 0
        var done: Int32 = 0
        for _ in 0..<maxRounds {
            let rc = sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &done)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { break }
            guard rc == SQLITE_OK else { throw BufferStore.stepError(rc, db.sqliteConnection) }
            if log <= 0 || done >= log { break }
        }
        return (Int(log), Int(done))
    }
}
