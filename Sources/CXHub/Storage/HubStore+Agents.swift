import CXCore
import CXProtocol
import Foundation
import GRDB

/// An enrolled agent as the hub sees it.
public struct AgentRecord: Sendable, Hashable, Codable {
    public var agentID: String
    public var storeID: String
    public var deviceID: String
    public var publicKey: [UInt8]
    public var status: String
    public var enrolledAt: Int64
    public var revokedAt: Int64?
    public var lastSyncAt: Int64?
    public var epoch: UInt64
    public var highWaterMark: UInt64
    public var eventsSynced: UInt64
    public var batchesSynced: UInt64
    public var bytesReceived: UInt64
    public var clockOffsetMillis: Int64
    public var skewed: Bool
    public var bufferDepth: UInt64
    public var oldestUnsyncedMillis: Int64
    public var lastSeq: UInt64
    public var usedBytes: Int64
    public var quotaBytes: Int64
    public var agentVersion: String
    public var downstreamCursor: UInt64
    public var refusals: UInt64
    public var lastError: String?

    init(row: Row) {
        agentID = row["agent_id"]
        storeID = row["store_id"]
        deviceID = row["device_id"]
        publicKey = [UInt8](row["public_key"] as Data)
        status = row["status"]
        enrolledAt = row["enrolled_at"]
        revokedAt = row["revoked_at"]
        lastSyncAt = row["last_sync_at"]
        epoch = UInt64(row["epoch"] as Int64)
        highWaterMark = UInt64(row["high_water_mark"] as Int64)
        eventsSynced = UInt64(row["events_synced"] as Int64)
        batchesSynced = UInt64(row["batches_synced"] as Int64)
        bytesReceived = UInt64(row["bytes_received"] as Int64)
        clockOffsetMillis = row["clock_offset_ms"]
        skewed = (row["skewed"] as Int64) != 0
        bufferDepth = UInt64(row["buffer_depth"] as Int64)
        oldestUnsyncedMillis = row["oldest_unsynced_ms"]
        lastSeq = UInt64(row["last_seq"] as Int64)
        usedBytes = row["used_bytes"]
        quotaBytes = row["quota_bytes"]
        agentVersion = row["agent_version"]
        downstreamCursor = UInt64(row["downstream_cursor"] as Int64)
        refusals = UInt64(row["refusals"] as Int64)
        lastError = row["last_error"]
    }

    public var isActive: Bool { status == "active" }
}

/// A one-time enrollment token, shown once to the operator.
public struct EnrollmentToken: Sendable, Hashable, Codable {
    public var token: String
    public var storeID: String
    public var deviceID: String
    public var expiresAt: Int64
}

extension HubStore {
    static func isIdentifier(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) }
        return alnum(bytes[0]) && bytes.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x3A || $0 == 0x2D }
    }

    static func checkIdentifier(_ value: String, _ what: String) throws(HubError) {
        guard isIdentifier(value) else {
            throw HubError(
                "invalid_request",
                "\(what) '\(value)' must be 1 to 128 characters of letters, digits, '.', '_', ':' or '-'",
                status: 400)
        }
    }

    /// How long an enrollment token may stay valid: a token is a key to the fleet until it is used.
    public static let enrollmentTTLRange: ClosedRange<Duration> = .seconds(60)...(.seconds(30 * 86_400))

    /// Issues a one-time token that binds the agent that redeems it to `store` and `device`.
    public func issueEnrollmentToken(store: String, device: String, ttl: Duration) throws -> EnrollmentToken {
        try Self.checkIdentifier(store, "store")
        try Self.checkIdentifier(device, "device")
        guard Self.enrollmentTTLRange.contains(ttl) else {
            throw HubError(
                "invalid_request",
                "ttl must be from 60 seconds to 30 days (2592000 seconds), got \(ttl.components.seconds) seconds",
                status: 400)
        }
        let token = Self.randomToken(prefix: "cxe_")
        let now = Self.nowMillis()
        let expires = now + ttl.components.seconds * 1000
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO enrollment_tokens (token_hash, store_id, device_id, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?)
                    """, arguments: [Data(Self.digest(token)), store, device, now, expires])
        }
        return EnrollmentToken(token: token, storeID: store, deviceID: device, expiresAt: expires)
    }

    /// Redeems a token: registers the agent's public key under its id for the token's store and device.
    public func enroll(token: String, agentID: String, publicKey: [UInt8]) async throws(HubError) -> AgentRecord {
        try Self.checkIdentifier(agentID, "agent_id")
        do {
            _ = try AgentPublicKey(rawRepresentation: publicKey)
        } catch {
            throw HubError("invalid_request", "public_key is not a 32-byte Ed25519 public key", status: 400)
        }
        let now = Self.nowMillis()
        let hash = Data(Self.digest(token))
        do {
            return try await pool.write { db in
                guard
                    let t = try Row.fetchOne(
                        db, sql: "SELECT * FROM enrollment_tokens WHERE token_hash = ?", arguments: [hash])
                else {
                    throw HubError("invalid_token", "the enrollment token is not known to this hub", status: 401)
                }
                if (t["used_by"] as String?) != nil {
                    // not by whom: the caller has not shown it may know the fleet's agent ids
                    throw HubError("invalid_token", "the enrollment token was already used", status: 401)
                }
                guard (t["expires_at"] as Int64) > now else {
                    throw HubError("invalid_token", "the enrollment token has expired", status: 401)
                }
                if let existing = try Row.fetchOne(
                    db, sql: "SELECT status FROM agents WHERE agent_id = ?", arguments: [agentID]),
                    (existing["status"] as String) == "active"
                {
                    throw HubError(
                        "already_enrolled", "agent '\(agentID)' is enrolled and active; revoke it first", status: 409)
                }
                try db.execute(
                    sql: """
                        INSERT INTO agents (agent_id, store_id, device_id, public_key, status, enrolled_at)
                        VALUES (?, ?, ?, ?, 'active', ?)
                        ON CONFLICT(agent_id) DO UPDATE SET store_id = excluded.store_id,
                            device_id = excluded.device_id, public_key = excluded.public_key, status = 'active',
                            enrolled_at = excluded.enrolled_at, revoked_at = NULL,
                            last_sync_at = NULL, buffer_depth = 0, oldest_unsynced_ms = 0, last_seq = 0,
                            used_bytes = 0, quota_bytes = 0, agent_version = '', clock_offset_ms = 0, skewed = 0,
                            downstream_cursor = 0
                        """,
                    arguments: [agentID, t["store_id"] as String, t["device_id"] as String, Data(publicKey), now])
                try db.execute(
                    sql: "UPDATE enrollment_tokens SET used_at = ?, used_by = ? WHERE token_hash = ?",
                    arguments: [now, agentID, hash])
                let row = try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE agent_id = ?", arguments: [agentID])!
                return AgentRecord(row: row)
            }
        } catch let e as HubError {
            throw e
        } catch {
            throw HubError.internal("enrollment failed", error)
        }
    }

    /// Revokes an agent: its batches are refused from now on; its merged data stays.
    @discardableResult
    public func revoke(agentID: String) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE agents SET status = 'revoked', revoked_at = ? WHERE agent_id = ? AND status = 'active'",
                arguments: [Self.nowMillis(), agentID])
            return db.changesCount > 0
        }
    }

    public func agent(_ agentID: String) async throws -> AgentRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE agent_id = ?", arguments: [agentID]).map(
                AgentRecord.init)
        }
    }

    public func agents() async throws -> [AgentRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY store_id, device_id, agent_id").map(
                AgentRecord.init)
        }
    }

    /// Blocking variant for the command line (`cx-hub agents list`).
    public func agentsNow() throws -> [AgentRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY store_id, device_id, agent_id").map(
                AgentRecord.init)
        }
    }

    /// Counts a refused request against the agent, with the reason, for the fleet view.
    func recordRefusal(agentID: String, _ error: HubError) async {
        _ = try? await pool.write { db in
            try db.execute(
                sql: "UPDATE agents SET refusals = refusals + 1, last_error = ? WHERE agent_id = ?",
                arguments: [error.description, agentID])
        }
    }
}
