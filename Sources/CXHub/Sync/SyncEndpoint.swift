import CXCore
import CXProtocol
import Logging

/// Carries out `POST /v1/sync` (PROTOCOL.md §2–§12): cheap checks first, then signature, bounded decoding,
/// one merge transaction, and the ack only after it committed. Every refusal is an `Error` frame.
public struct SyncEndpoint: Sendable {
    public let store: HubStore
    public let decoder: FrameDecoder
    public let policy: MergePolicy
    let encoder = FrameEncoder()
    let logger: Logger

    public init(store: HubStore, decoder: FrameDecoder = FrameDecoder(), policy: MergePolicy, logger: Logger) {
        self.store = store
        self.decoder = decoder
        self.policy = policy
        self.logger = logger
    }

    /// The HTTP answer: status, a frame, and for 503 a Retry-After.
    public struct Reply: Sendable {
        public var status: Int
        public var frame: [UInt8]
        public var retryAfterSeconds: Int? = nil
    }

    /// The answer to a sync request shed before its body is read: the hub holds `max_sync_bytes_in_flight` already.
    public func overloaded(retryAfterSeconds: Int) -> Reply {
        var reply = refusal(
            HubError(
                "overloaded",
                "the hub is reading as many sync requests as it takes at once; retry after \(retryAfterSeconds) s",
                status: 503))
        reply.retryAfterSeconds = retryAfterSeconds
        return reply
    }

    /// Refuses a major version named in the `CX-Protocol` header before the body is read.
    public func checkVersionHeader(_ value: String?) -> Reply? {
        guard let value, let majorText = value.split(separator: ".").first, let major = UInt8(majorText) else {
            return nil
        }
        guard FrameHeader.supportedMajors.contains(major) else {
            return refusal(
                HubError(
                    "unsupported_version",
                    "protocol major version \(major) is not supported (supported: \(FrameHeader.supportedMajors.map(String.init).joined(separator: ", ")))",
                    status: 426))
        }
        return nil
    }

    public func handle(_ body: [UInt8]) async -> Reply {
        do {
            return try await process(body)
        } catch {
            if error.httpStatus >= 500 {
                logger.error("sync failed", metadata: error.logMetadata)
            } else {
                logger.notice("sync refused", metadata: error.logMetadata)
            }
            return refusal(error)
        }
    }

    func process(_ body: [UInt8]) async throws(HubError) -> Reply {
        let header: FrameHeader
        do {
            header = try decoder.header(of: body)
        } catch {
            throw HubError(error)
        }
        guard header.kind == .batch else {
            throw HubError(
                "unexpected_kind", "this endpoint takes batch frames (kind 1); got kind \(header.kind.rawValue)",
                status: 400)
        }
        guard header.isSigned else {
            throw HubError("missing_signature", "batches must be signed by an enrolled agent", status: 401)
        }
        let agent: AgentRecord?
        do {
            agent = try await store.agent(header.keyID)
        } catch {
            throw HubError.internal("cannot read the agent registry", error)
        }
        guard let agent else {
            throw HubError("unknown_agent", "no enrolled agent '\(header.keyID)'", status: 401)
        }
        // A refusal is recorded in the agent's row (the fleet view's last error) only once the frame is known to come
        // from the agent: an agent id is no secret, and a write per forged frame would let anyone make the hub's only
        // writer fsync at will and put any text in another agent's row.
        let key: AgentPublicKey
        do {
            key = try AgentPublicKey(rawRepresentation: agent.publicKey)
        } catch {
            throw HubError("internal", "the key enrolled for '\(agent.agentID)' cannot be read", status: 500)
        }
        guard agent.isActive else {
            if (try? decoder.verify(body, header: header, with: key)) != nil {
                await store.recordRefusal(agentID: agent.agentID, HubError("revoked", "revoked", status: 403))
            }
            throw HubError("revoked", "agent '\(agent.agentID)' was revoked; enroll it again", status: 403)
        }
        let batch: SyncBatch
        do {
            batch = try decoder.decodeBatch(body) { $0 == agent.agentID ? key : nil }
        } catch {
            let refusal = HubError(error)
            if error.code != .badSignature { await store.recordRefusal(agentID: agent.agentID, refusal) }
            throw refusal
        }
        let result = try await store.merge(batch, frameBytes: body.count, policy: policy)
        if result.clock.skewed {
            logger.warning(
                "agent clock is skewed; its timestamps were corrected",
                metadata: ["agent_id": "\(agent.agentID)", "offset_ms": "\(result.clock.offsetMillis)"])
        }
        var ack = Cxsync_V1_Ack()
        ack.agentID = batch.agentID
        ack.epoch = batch.epoch
        ack.highWaterMark = result.highWaterMark
        ack.batchHash = .init(batch.contentHash)
        ack.duplicate = result.duplicate
        ack.hubHlc = result.hubHLC.rawValue
        ack.clockOffsetMs = result.clock.offsetMillis
        ack.downstream = result.downstream
        return Reply(status: 200, frame: encoder.frame(ack, kind: .ack))
    }

    func refusal(_ error: HubError) -> Reply {
        var e = Cxsync_V1_Error()
        e.code = error.code
        e.message = error.message
        e.expectedSeq = error.expectedSeq
        e.epoch = error.epoch
        if error.code == "unsupported_version" {
            e.supportedMajorVersions = FrameHeader.supportedMajors.map(UInt32.init)
        }
        return Reply(status: error.httpStatus, frame: encoder.frame(e, kind: .error))
    }
}
