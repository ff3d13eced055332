import CXCore
import CXInsight
import CXProtocol
import Crypto
import Foundation
import GRDB
import Logging
import Synchronization

/// The hub's database: enrolled agents, merged events and CRDT state, and the downstream stream.
///
/// Writes go through GRDB's serial writer (off Swift's cooperative pool); every merge is one transaction.
public final class HubStore: Sendable {
    public let path: String
    let pool: DatabasePool
    let clock: Mutex<HybridLogicalClock>
    public let hubID: String
    /// Base64 of the 32-byte fleet key handed to agents at enrollment (over TLS, never logged).
    public let fleetKey: String
    /// Hashes identifiers as agents do with `fleetKey` (nil when the key is not usable).
    let identifierHasher: CustomerIdentifierHasher?
    private let committerBox = Mutex<MergeCommitter?>(nil)

    /// Groups concurrent merges into shared transactions.
    var committer: MergeCommitter {
        committerBox.withLock { c in
            if let c { return c }
            let made = MergeCommitter(store: self)
            c = made
            return made
        }
    }

    /// Opens (creating if needed) the database and runs migrations.
    /// `defaultCountryCode`: the stores' calling code for national phone numbers (`default_country_code`).
    public static func open(
        path: String, cacheKiB: Int = 131_072, maxClockDrift: Duration = .seconds(300),
        defaultCountryCode: String? = nil
    ) throws -> HubStore {
        var config = Configuration()
        config.prepareDatabase { db in
            // 32 KiB pages for a new database (an existing one keeps its size): a merge writes whole pages of
            // three B-trees, and larger pages mean fewer of them; measured +40% merge rate over 4 KiB pages.
            try db.execute(sql: "PRAGMA page_size = 32768")
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Each batch merges in a savepoint: keep its statement journal in memory rather than in a temporary
            // file created and deleted per batch once it passes 64 KiB (two 32 KiB pages).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // Checkpoint every 64 MiB of WAL rather than every 4 MiB: fewer fsyncs of the main file per merge.
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(max(1, (64 << 20) / pageSize))")
        }
        config.busyMode = .timeout(10)
        try PrivateDatabaseFile.prepare(path)
        let pool = try DatabasePool(path: path, configuration: config)
        // FULL on the writer here, not in `prepareDatabase`: GRDB's DatabasePool sets `synchronous = NORMAL` on its
        // writer after that (setUpWALMode), and under NORMAL a WAL commit is not fsynced, only a checkpoint synced it
        // (every 64 MiB of WAL here), so that a power loss could take merges already acknowledged to agents, which
        // then never resend them. Readers write nothing.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try HubSchema.migrator.migrate(pool)
        let (hubID, lastHLC, fleetKey) = try pool.write { db -> (String, UInt64, String) in
            var id = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hub_id'")
            if id == nil {
                let fresh = "hub-" + UUID().uuidString.prefix(8).lowercased()
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('hub_id', ?)", arguments: [fresh])
                id = fresh
            }
            // The fleet key: agents hash customer identifiers with it (HMAC-SHA256), so that the hub can join
            // one customer's events across stores and channels without ever seeing the identifier.
            var key = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'fleet_key'")
            if key == nil {
                let fresh = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('fleet_key', ?)", arguments: [fresh])
                key = fresh
            }
            let last = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hlc_last'").flatMap(
                UInt64.init)
            return (id!, last ?? 0, key!)
        }
        let store = HubStore(
            path: path, pool: pool, hubID: hubID, fleetKey: fleetKey,
            clock: HybridLogicalClock(maxDrift: maxClockDrift, last: HLCTimestamp(rawValue: lastHLC)),
            defaultCountryCode: defaultCountryCode)
        _ = try pool.write { db in try store.hashRawTombstones(db) }
        return store
    }

    init(
        path: String, pool: DatabasePool, hubID: String, fleetKey: String, clock: HybridLogicalClock,
        defaultCountryCode: String? = nil
    ) {
        self.path = path
        self.pool = pool
        self.hubID = hubID
        self.fleetKey = fleetKey
        identifierHasher = Data(base64Encoded: fleetKey).flatMap {
            try? CustomerIdentifierHasher(fleetKey: Array($0), defaultCountryCode: defaultCountryCode)
        }
        self.clock = Mutex(clock)
    }

    /// The node id of writes made at the hub (config, alert changes by CX leads).
    public var node: String { "hub:" + hubID }

    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Ticks the hub's HLC.
    public func tick() -> HLCTimestamp {
        let now = Self.nowMillis()
        return clock.withLock { $0.tick(wallMillis: now) }
    }

    /// Folds a received HLC into the hub's clock (receive rule); a drift refusal leaves the clock unchanged.
    func observe(_ remote: HLCTimestamp) {
        let now = Self.nowMillis()
        clock.withLock { c in _ = try? c.receive(remote, wallMillis: now) }
    }

    public func close() throws {
        let last = clock.withLock { $0.last.rawValue }
        try pool.write { db in
            try db.execute(
                sql:
                    "INSERT INTO meta (key, value) VALUES ('hlc_last', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [String(last)])
        }
        try pool.close()
    }
}

// MARK: - Admin token

extension HubStore {
    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    static func randomToken(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        // base32 without padding: 24 bytes -> 39 characters, safe in shells and URLs.
        var out = ""
        var buffer = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return prefix + out
    }

    /// Creates the operator token if none exists; returns it only when it was created (it is never stored in clear).
    public func createAdminTokenIfMissing() throws -> String? {
        try pool.write { db in
            if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'admin_token_sha256'") != nil {
                return nil
            }
            let token = Self.randomToken(prefix: "cxa_")
            let hex = Self.digest(token).map { String(format: "%02x", $0) }.joined()
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('admin_token_sha256', ?)", arguments: [hex])
            return token
        }
    }

    /// Replaces the operator token and returns the new one.
    public func rotateAdminToken() throws -> String {
        try pool.write { db in
            let token = Self.randomToken(prefix: "cxa_")
            let hex = Self.digest(token).map { String(format: "%02x", $0) }.joined()
            try db.execute(
                sql: """
                    INSERT INTO meta (key, value) VALUES ('admin_token_sha256', ?)
                    ON CONFLICT(key) DO UPDATE SET value = excluded.value
                    """, arguments: [hex])
            return token
        }
    }

    /// Constant-time check of a presented operator token against the stored digest.
    public func isAdminToken(_ token: String) async throws -> Bool {
        let stored = try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'admin_token_sha256'")
        }
        guard let stored else { return false }
        let presented = Self.digest(token).map { String(format: "%02x", $0) }.joined()
        return ConstantTime.equal(presented.utf8, stored.utf8)
    }
}

extension HubStore {
    /// The keyed hash agents store for a raw customer identifier (nil when it cannot be normalised, or when
    /// `id` already is such a hash: 32 lowercase hex digits).
    /// A keyed hash as agents store it (lowercase hex), whatever case it was typed in; any other id unchanged.
    public static func normalizedCustomerID(_ id: String) -> String {
        let lower = id.lowercased()
        return lower != id && CustomerKey.halves(lower) != nil ? lower : id
    }

    public func customerKey(for id: String) -> String? {
        if CustomerKey.halves(id) != nil { return nil }
        return identifierHasher?.hash(id)
    }
}
