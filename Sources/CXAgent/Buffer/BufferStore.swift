import CXCore
import CXInsight
import Foundation
import GRDB
import Logging
import Synchronization

/// The agent's durable buffer: one SQLite database in WAL mode with `synchronous=FULL`.
///
/// All writes go through `commit`, one transaction per group of requests; GRDB runs them on its own serial
/// writer queue, off Swift's cooperative pool. Every piece of mutable state (next seq, HLC, counters) lives in
/// the database and moves in the same transaction as the events, so a crash can never split them.
public final class BufferStore: Sendable {
    public let path: String
    public let identity: AgentIdentity
    public let quotaBytes: Int64
    public let recovery: RecoveryReport?
    let pool: DatabasePool
    let maxDriftMillis: Int64
    /// For what the writer notices and corrects (a saved clock far ahead).
    let logger: Logger
    /// Touched only by the writer (inside `pool.write`), and only after its transaction committed.
    let recent: Mutex<RecentEventIDs>
    /// Theme tag ↔ one-byte code of the stored rows; grows only at start-up (`registerThemes`).
    let themeBook: Mutex<ThemeCodebook>
    /// The customers erased at the hub (the `erasures` table), which the ingest path checks new events against;
    /// changed only once the transaction that records an erasure has committed.
    let erased: Mutex<ErasedCustomers>

    /// Hashes the identifiers this agent stores unhashed (enrichment off, now or before) as the fleet does, so that
    /// they are known under the hashes erasures name; nil before enrollment (erasures come from the hub).
    let identifierHasher = Mutex<CustomerIdentifierHasher?>(nil)

    /// Sets the hasher of the identifiers stored unhashed (`identifierHasher`).
    public func hashUnhashedIdentifiers(with hasher: CustomerIdentifierHasher) {
        identifierHasher.withLock { $0 = hasher }
    }

    /// Positions of `events` whose ids are among the latest stored ones: the writer will answer them `duplicate`.
    /// The enricher keeps them out of its memory across events, where a producer's retry of stored events restarted
    /// cooldowns for alerts the writer then dropped, and hid the next real one.
    public func recentlyStored(_ events: [Event]) -> [Int] {
        recent.withLock { recent in events.indices.filter { recent.occurredAt(of: events[$0].eventID) != nil } }
    }

    /// The hasher of the identifiers stored unhashed, if set.
    public var unhashedIdentifierHasher: CustomerIdentifierHasher? { identifierHasher.withLock { $0 } }

    /// The erased customers as they stand: a request checks its events against one snapshot.
    public var erasedCustomers: ErasedCustomers { erased.withLock { $0 } }

    /// Opens (creating, migrating or recovering) the buffer in `directory`.
    public static func open(
        directory: String, quotaBytes: Int64, cacheKiB: Int = 8_192, maxClockDrift: Duration = .seconds(300),
        logger: Logger
    ) throws -> BufferStore {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let agentID = try loadOrCreateAgentID(directory: directory)
        let path = (directory as NSString).appendingPathComponent("buffer.sqlite")
        var recovery: RecoveryReport?
        var pool: DatabasePool
        var opened: DatabasePool?
        var recent: RecentEventIDs
        if let quarantined = try BufferRecovery.finishInterruptedRecovery(path: path, logger: logger) {
            logger.error(
                "an earlier start salvaged the damaged buffer and was stopped before it put the result in place; done now",
                metadata: ["quarantined": "\(quarantined)"])
        }
        do {
            opened = try openPool(path: path, cacheKiB: cacheKiB, agentID: agentID)
            pool = opened!
            try probe(pool)
            // Inside the recovery scope: this reads the index's last pages, where a damaged tail shows.
            recent = try pool.read { db in try RecentEventIDs.load(db, capacity: Self.recentEventIDs) }
        } catch let error as DatabaseError where Self.isCorruption(error) {
            // Close before the files move, so that SQLite cannot later touch the new database's WAL by name.
            try? opened?.close()
            let (newPool, report) = try BufferRecovery.recover(
                path: path, reason: "\(error)", cacheKiB: cacheKiB, agentID: agentID, logger: logger)
            pool = newPool
            recovery = report
            recent = try pool.read { db in try RecentEventIDs.load(db, capacity: Self.recentEventIDs) }
        }
        let epoch = try pool.read { db in
            try UInt64(String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'epoch'") ?? "") ?? 0
        }
        let drift = maxClockDrift.components
        let book = try pool.read { db in try ThemeCodebook.load(db) }
        let erased = try pool.read { db in Set(try String.fetchAll(db, sql: "SELECT subject FROM erasures")) }
        return BufferStore(
            path: path, identity: AgentIdentity(agentID: agentID, epoch: epoch), quotaBytes: quotaBytes,
            recovery: recovery, pool: pool, maxDriftMillis: drift.seconds * 1000, recent: recent, themeBook: book,
            erased: erased, logger: logger)
    }

    /// How many of the latest event ids are checked regardless of their `occurred_at` (RecentEventIDs).
    static let recentEventIDs = 65_536

    init(
        path: String, identity: AgentIdentity, quotaBytes: Int64, recovery: RecoveryReport?, pool: DatabasePool,
        maxDriftMillis: Int64, recent: RecentEventIDs, themeBook: ThemeCodebook, erased: Set<String> = [],
        logger: Logger = Logger(label: "cx-agent.buffer")
    ) {
        self.logger = logger
        self.recent = Mutex(recent)
        self.erased = Mutex(ErasedCustomers(subjects: erased))
        self.themeBook = Mutex(themeBook)
        self.path = path
        self.identity = identity
        self.quotaBytes = quotaBytes
        self.recovery = recovery
        self.pool = pool
        self.maxDriftMillis = maxDriftMillis
    }

    static func openPool(path: String, cacheKiB: Int, agentID: String) throws -> DatabasePool {
        // Also the fresh database of a recovery: events and their customer keys are for the agent's user only.
        try PrivateDatabaseFile.prepare(path)
        var config = Configuration()
        config.prepareDatabase { db in
            // The writer's own checkpoint is only the fallback (CheckpointService keeps the WAL near 64 MiB):
            // at SQLite's 4 MiB it would stall a commit every few hundred milliseconds of sustained ingest.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 32768")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            // Each request commits in a savepoint; past 64 KiB its statement journal would spill to a temporary
            // file that SQLite creates, writes and deletes every time (enriched requests do). Keep it in memory.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        config.busyMode = .timeout(5)
        let pool = try DatabasePool(path: path, configuration: config)
        // FULL on the writer here, not in `prepareDatabase`: GRDB's DatabasePool sets `synchronous = NORMAL` on its
        // writer after that (setUpWALMode), and under NORMAL a WAL commit is not fsynced, only the checkpoints synced
        // it (every 100 ms or so), so that a power loss could take commits already acknowledged. Acknowledging means
        // durable (DESIGN.md). Readers write nothing.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try BufferSchema.migrator.migrate(pool)
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?), ('agent_id', ?), ('created_at', ?)",
                arguments: [String(Self.nowMillis()), agentID, String(Self.nowMillis())])
        }
        return pool
    }

    /// Cheap start-up checks that touch a constant number of pages whatever the backlog: the schema, the
    /// counters and the tail of the outbox (where a truncated file shows first).
    static func probe(_ pool: DatabasePool) throws {
        try pool.read { db in
            _ = try Int64.fetchAll(db, sql: "SELECT value FROM counters")
            _ = try Row.fetchAll(db, sql: "SELECT seq, length(payload) FROM events ORDER BY seq DESC LIMIT 64")
            _ = try Row.fetchAll(db, sql: "SELECT seq FROM events ORDER BY seq LIMIT 1")
            _ = try Row.fetchAll(
                db, sql: "SELECT seq FROM events INDEXED BY events_identity ORDER BY occurred_at DESC LIMIT 1")
        }
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: pool.path)[.size] as? Int64) ?? 0
        let (pages, pageSize) = try pool.read { db in
            (
                try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0,
                try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            )
        }
        let walSize = (try? FileManager.default.attributesOfItem(atPath: pool.path + "-wal")[.size] as? Int64) ?? 0
        if walSize == 0 && fileSize < pages * pageSize {
            throw DatabaseError(
                resultCode: .SQLITE_CORRUPT,
                message: "file has \(fileSize) bytes, its header announces \(pages * pageSize)")
        }
    }

    static func isCorruption(_ error: DatabaseError) -> Bool {
        [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode.primaryResultCode)
    }

    static func loadOrCreateAgentID(directory: String) throws -> String {
        let file = (directory as NSString).appendingPathComponent("agent-id")
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        let id = "agent-" + UUID.v7(unixMillis: nowMillis()).lowercasedString
        try (id + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return id
    }

    static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Gives codes to the taxonomy's themes that have none, before the first event that carries them is stored.
    public func registerThemes(_ themes: [Enrichment.Theme]) throws {
        let book = try pool.write { db in try ThemeCodebook.register(themes, db) }
        themeBook.withLock { $0 = book }
    }

    /// The theme codes in use, for the request tasks that encode payloads.
    public var themeCodebook: ThemeCodebook { themeBook.withLock { $0 } }

    /// Checkpoints the WAL into the main file (a clean shutdown leaves one self-contained file) and closes.
    public func close() throws {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        try pool.close()
    }
}
