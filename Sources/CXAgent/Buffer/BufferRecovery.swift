import Foundation
import GRDB
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Salvage of a damaged buffer: the agent must start anyway, keep what SQLite can still read, and say what
/// it lost. The damaged file is kept aside for forensics, never deleted.
enum BufferRecovery {
    /// Salvages the damaged database at `path` into a new one and puts that in its place, crash-safely: the damaged
    /// file stays where it is until the new one is complete and durable (`<path>.recovered`), and a start that finds
    /// the complete one finishes the swap (`finishInterruptedRecovery`). Before, the damaged files were moved aside
    /// first, and an agent killed while it salvaged (slow, around damaged pages) started next time from an empty
    /// buffer, every unsynced event lost without a word.
    static func recover(
        path: String, reason: String, cacheKiB: Int, agentID: String, logger: Logger
    ) throws -> (DatabasePool, RecoveryReport) {
        let fm = FileManager.default
        let building = path + ".recovering"
        for suffix in ["", "-wal", "-shm"] where fm.fileExists(atPath: building + suffix) {
            try fm.removeItem(atPath: building + suffix)
        }
        logger.error("buffer database is damaged; salvaging", metadata: ["reason": "\(reason)", "path": "\(path)"])
        let (rows, expected, themeCodes) = salvage(path: path, logger: logger)
        let lost = max(0, expected - rows.count)
        let fresh = try BufferStore.openPool(path: building, cacheKiB: cacheKiB, agentID: agentID)
        try fresh.write { db in
            // The codes first, as they were: the salvaged rows refer to them.
            for row in themeCodes {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO theme_codes (code, dimension, value) VALUES (?, ?, ?)",
                    arguments: [row.code, row.dimension, row.value])
            }
            let insert = try db.makeStatement(
                sql: "INSERT OR IGNORE INTO events (seq, event_id, occurred_at, type, hlc, payload, theme_codes) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?)")
            var seq: Int64 = 1
            var hlcLast: Int64 = 0
            for r in rows {
                try insert.execute(arguments: [seq, r.eventID, r.occurredAt, r.type, r.hlc, r.payload, r.themeCodes])
                if db.changesCount == 1 { seq += 1 }
                hlcLast = max(hlcLast, r.hlc)
            }
            try db.execute(sql: "UPDATE counters SET value = ? WHERE name = 'next_seq'", arguments: [seq])
            try db.execute(sql: "UPDATE counters SET value = ? WHERE name = 'hlc_last'", arguments: [hlcLast])
            try db.execute(
                sql: "UPDATE counters SET value = ? WHERE name = 'lost_in_recovery_total'", arguments: [lost])
        }
        // One file, durable, then renamed complete: the swap below may be interrupted from here on, never lost.
        try fresh.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        try fresh.close()
        for suffix in ["-wal", "-shm"] where fm.fileExists(atPath: building + suffix) {
            try fm.removeItem(atPath: building + suffix)
        }
        try DurableFile.sync(building)
        try fm.moveItem(atPath: building, toPath: path + ".recovered")
        try DurableFile.sync(directoryOf: path)
        let quarantine = try finishInterruptedRecovery(path: path, logger: logger) ?? path
        let pool = try BufferStore.openPool(path: path, cacheKiB: cacheKiB, agentID: agentID)
        let report = RecoveryReport(recovered: rows.count, lost: lost, quarantinedPath: quarantine, reason: reason)
        logger.error(
            "buffer recovered into a new epoch: \(rows.count) events kept, \(lost) lost",
            metadata: ["recovered": "\(rows.count)", "lost": "\(lost)", "quarantined": "\(quarantine)"])
        return (pool, report)
    }

    /// Puts a complete salvaged database (`<path>.recovered`) in place of the damaged one, which is kept aside
    /// for forensics, never deleted; returns where it went, or nil when there was nothing to finish. Called by every
    /// open: a recovery killed after its new database was complete is finished by the next start.
    @discardableResult
    static func finishInterruptedRecovery(path: String, logger: Logger) throws -> String? {
        let fm = FileManager.default
        let recovered = path + ".recovered"
        guard fm.fileExists(atPath: recovered) else { return nil }
        let stamp = Int64(Date().timeIntervalSince1970)
        var quarantine = String(path.dropLast(".sqlite".count)) + ".corrupt-\(stamp).sqlite"
        var n = 1
        while fm.fileExists(atPath: quarantine) || fm.fileExists(atPath: quarantine + "-wal") {
            quarantine = String(path.dropLast(".sqlite".count)) + ".corrupt-\(stamp)-\(n).sqlite"
            n += 1
        }
        // The journal files first: the damaged main file, while it is in place, keeps this swap to be finished.
        for suffix in ["-wal", "-shm", ""] where fm.fileExists(atPath: path + suffix) {
            try fm.moveItem(atPath: path + suffix, toPath: quarantine + suffix)
        }
        try fm.moveItem(atPath: recovered, toPath: path)
        try DurableFile.sync(directoryOf: path)
        logger.notice(
            "the salvaged buffer database is in place; the damaged one is kept aside",
            metadata: ["quarantined": "\(quarantine)"])
        return quarantine
    }

    struct SalvagedRow {
        var seq: Int64
        var eventID: Data
        var occurredAt: Int64
        var type: String
        var hlc: Int64
        var payload: Data
        var themeCodes: Data?
    }

    struct SalvagedThemeCode {
        var code: Int
        var dimension: String
        var value: String
    }

    /// Reads every row it can, chunk by chunk, falling back to single-row reads around damaged pages.
    /// Returns the rows and the number of rows the database should have held (from its counters when they
    /// are readable, else from the highest seq seen).
    static func salvage(path: String, logger: Logger) -> ([SalvagedRow], Int, [SalvagedThemeCode]) {
        var config = Configuration()
        config.readonly = true
        // A file shorter than its header says is "malformed" to SQLite unless the schema is writable; with
        // this flag it reads what the file still holds.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA writable_schema = ON") }
        guard let queue = try? DatabaseQueue(path: path, configuration: config) else { return ([], 0, []) }
        defer { try? queue.close() }
        let counters: [String: Int64] =
            (try? queue.read { db in
                var c: [String: Int64] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT name, value FROM counters") { c[row[0]] = row[1] }
                return c
            }) ?? [:]
        let lastSeq = (counters["next_seq"] ?? 1) - 1
        let firstSeq: Int64 =
            (try? queue.read { db in try Int64.fetchOne(db, sql: "SELECT min(seq) FROM events") }) ?? nil ?? 1
        let highestGuess = max(
            lastSeq, (try? queue.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM events") }) ?? nil ?? 0)
        // A buffer damaged before its compact-rows migration has no codes: its payloads hold the themes.
        let hasCodes = (try? queue.read { db in try db.columns(in: "events").contains { $0.name == "theme_codes" } })
        let themeCodes =
            hasCodes == true
            ? ((try? queue.read { db in
                try Row.fetchAll(db, sql: "SELECT code, dimension, value FROM theme_codes").map {
                    SalvagedThemeCode(code: $0[0], dimension: $0[1], value: $0[2])
                }
            }) ?? []) : []
        if hasCodes == nil {
            logger.error("salvage cannot read the events table's columns; theme codes of the rows are lost")
        } else if hasCodes == true && themeCodes.isEmpty {
            logger.error(
                "salvage cannot read theme_codes; coded themes decode by the current taxonomy's codes, if at all")
        }
        var rows: [SalvagedRow] = []
        let sql =
            "SELECT seq, event_id, occurred_at, type, hlc, payload, \(hasCodes == true ? "theme_codes" : "NULL") "
            + "FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"
        func read(_ from: Int64, _ to: Int64) throws -> [SalvagedRow] {
            try queue.read { db in
                // Zeroed or half-written pages read as NULLs or wrong types: such rows are lost, not guessed.
                try Row.fetchAll(db, sql: sql, arguments: [from, to]).compactMap { row -> SalvagedRow? in
                    guard let seq = row[0] as Int64?, let id = row[1] as Data?, id.count == 16,
                        let occurredAt = row[2] as Int64?, let type = row[3] as String?, let hlc = row[4] as Int64?,
                        let payload = row[5] as Data?, !payload.isEmpty
                    else { return nil }
                    return SalvagedRow(
                        seq: seq, eventID: id, occurredAt: occurredAt, type: type, hlc: hlc, payload: payload,
                        themeCodes: row[6] as Data?)
                }
            }
        }
        let chunk: Int64 = 512
        var start = max(1, firstSeq)
        while start <= highestGuess {
            let end = min(highestGuess, start + chunk - 1)
            if let part = try? read(start, end) {
                rows += part
            } else {
                for seq in start...end {
                    if let one = try? read(seq, seq) { rows += one }
                }
            }
            start = end + 1
        }
        let evicted = counters["evicted_total"] ?? 0
        let expected = lastSeq > 0 ? Int(lastSeq - evicted) : Int(highestGuess - max(1, firstSeq) + 1)
        logger.info("salvage read \(rows.count) of \(expected) expected events")
        return (rows, expected, themeCodes)
    }
}

/// fsync of a file or of a directory's entries, so that a rename survives a power cut.
enum DurableFile {
    static func sync(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY)
        guard fd >= 0 else { throw BufferError(code: "recovery_failed", message: "cannot open \(path) to sync it") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw BufferError(code: "recovery_failed", message: "fsync of \(path) failed") }
    }

    static func sync(directoryOf path: String) throws {
        try sync(
            (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent)
    }
}
