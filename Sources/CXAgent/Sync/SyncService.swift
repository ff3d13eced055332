import CXCore
import CXProtocol
import Foundation
import Logging
import ServiceLifecycle

/// The agent's sync loop: performs what `SyncStateMachine` decides, until graceful shutdown.
///
/// A batch is persisted before its first post and posted byte for byte until the hub answers; an
/// acknowledgement, its downstream delta and the new high-water mark are committed in one transaction.
/// Graceful shutdown lets the request in flight finish, so that its acknowledgement is recorded.
public struct SyncService: Service {
    let store: BufferStore
    let configuration: AgentConfiguration
    let credentials: AgentCredentials
    let caFile: String
    let monitor: SyncMonitor
    let logger: Logger
    /// Called after an acknowledgement brought configuration from the hub (already committed).
    let configurationChanged: @Sendable () async -> Void

    public init(
        store: BufferStore, configuration: AgentConfiguration, credentials: AgentCredentials, caFile: String,
        monitor: SyncMonitor, logger: Logger, configurationChanged: @escaping @Sendable () async -> Void = {}
    ) {
        self.configurationChanged = configurationChanged
        self.store = store
        self.configuration = configuration
        self.credentials = credentials
        self.caFile = caFile
        self.monitor = monitor
        self.logger = logger
    }

    static func settings(_ c: AgentConfiguration) -> SyncStateMachine.Settings {
        var s = SyncStateMachine.Settings()
        s.syncIntervalMillis = c.syncInterval.milliseconds
        s.pollIntervalMillis = c.pollInterval.milliseconds
        s.backoffInitialMillis = c.backoffInitial.milliseconds
        s.backoffMaxMillis = c.backoffMax.milliseconds
        s.stallAfterMillis = c.stallAfter.milliseconds
        s.maxBatchEvents = c.maxBatchEvents
        s.bandwidthLimit = c.bandwidthLimit
        s.maxFrameAgeMillis = c.maxFrameAge.milliseconds
        return s
    }

    /// A sync that cannot start (unreadable CA or key) is logged and retried; it never stops the agent,
    /// which keeps buffering.
    public func run() async throws {
        let hubURL = configuration.hubURL.isEmpty ? credentials.hubURL : configuration.hubURL
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let client: HubClient
            let key: AgentSigningKey
            do {
                client = try HubClient(hubURL: hubURL, caFile: caFile, timeout: configuration.requestTimeout)
                key = try credentials.signingKey()
            } catch {
                logger.error("sync cannot start; buffering only, retrying in 30 s", metadata: ["error": "\(error)"])
                monitor.update {
                    $0.state = "stalled"
                    $0.lastError = "\(error)"
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
                continue
            }
            try await run(client: client, key: key, hubURL: hubURL)
            return
        }
    }

    func run(client: HubClient, key: AgentSigningKey, hubURL: String) async throws {
        let builder = BatchBuilder(
            agentID: credentials.agentID, epoch: store.identity.epoch, storeID: credentials.storeID,
            key: key, encoder: FrameEncoder(level: Int32(configuration.compressionLevel)),
            maxBatchBytes: configuration.maxBatchBytes,
            sanitizer: RawEventSanitizer(
                fleetKey: EventEnricher.enrolledFleetKey(credentials), piiPatterns: configuration.piiPatterns,
                defaultCountryCode: configuration.countryCode),
            logger: logger,
            maxDriftMillis: configuration.maxClockDrift.milliseconds)
        let window = SyncWindow(configuration.syncWindow)
        let start = try await store.syncPosition()
        var machine = SyncStateMachine(
            settings: Self.settings(configuration), syncedThrough: start.syncedThrough,
            inFlight: try await store.loadInFlight(), now: Self.nowMillis())
        monitor.update {
            $0.state = "idle"
            $0.hubURL = hubURL
            $0.agentID = credentials.agentID
            $0.storeID = credentials.storeID
        }
        logger.notice(
            "sync started",
            metadata: [
                "hub": "\(hubURL)", "synced_through": "\(start.syncedThrough)", "last_seq": "\(start.lastSeq)",
                "resending": "\(machine.inFlight.map { "\($0.seqFrom)...\($0.seqTo)" } ?? "none")",
            ])
        var prefetched: Prefetched?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await step(&machine, prefetched: &prefetched, client: client, builder: builder, window: window)
            } catch {
                logger.error("sync step failed", metadata: ["error": "\(error)"])
                try? await store.count("sync_failures_total")
                monitor.update { $0.lastError = "\(error)" }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            }
        }
        await client.shutdown()
        logger.notice("sync stopped")
    }

    /// The next batch's body, prepared while the previous batch was in flight (BatchBuilder.prepare): during a
    /// catch-up the agent decodes and encodes batch n+1 while the hub merges batch n. Outbox rows never change
    /// once written, so it stays valid until the state machine asks for exactly this range.
    struct Prefetched: Sendable {
        var after: UInt64
        var limit: Int
        var body: Cxsync_V1_Batch
    }

    func step(
        _ machine: inout SyncStateMachine, prefetched: inout Prefetched?, client: HubClient, builder: BatchBuilder,
        window: SyncWindow?
    ) async throws {
        let position = try await store.syncPosition()
        let now = Self.nowMillis()
        if let stall = machine.stallReport(now: now, unsynced: position.unsynced) {
            logger.warning("sync stalled", metadata: ["reason": "\(stall)"])
            try await store.count("sync_stalls_total")
            monitor.update { $0.state = "stalled" }
        }
        let action = machine.nextAction(
            now: now, lastSeq: position.lastSeq, windowOpensInMillis: Self.windowWait(window))
        publish(machine, position)
        switch action {
        case .sleep(let ms):
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(ms)) }
        case .build(let after, let limit):
            var body = prefetched.flatMap { $0.after == after && $0.limit == limit ? $0.body : nil }
            prefetched = nil
            if body == nil {
                body = try await prepare(
                    after: after, limit: limit, acknowledgedThrough: machine.syncedThrough, builder: builder)
            }
            guard let body else {
                let available = try await store.firstStoredSeq(after: after)
                perform(machine.nothingToBuild(firstAvailable: available, now: now))
                return
            }
            let batch = builder.seal(
                body, cursor: position.downstreamCursor, position: position, quotaBytes: store.quotaBytes,
                nowMillis: now)
            try await store.saveInFlight(batch)
            machine.built(batch)
        case .send(let batch):
            let retrying = machine.attempt > 0
            monitor.update { $0.state = retrying ? "retrying" : "sending" }
            let limit = machine.batchLimit
            let ahead = prefetched == nil && batch.seqTo < position.lastSeq
            let acknowledged = machine.syncedThrough
            async let next =
                ahead
                ? try? prepare(after: batch.seqTo, limit: limit, acknowledgedThrough: acknowledged, builder: builder)
                : nil
            let answer = await client.post(batch.frame)
            if let body = await next { prefetched = Prefetched(after: batch.seqTo, limit: limit, body: body) }
            try await handle(
                answer, machine: &machine, sentEvents: Int(batch.seqTo - batch.seqFrom + 1),
                sentBytes: batch.frame.count)
        case .poll:
            let frame = builder.poll(
                cursor: position.downstreamCursor, position: position, quotaBytes: store.quotaBytes, nowMillis: now)
            let answer = await client.post(frame)
            try await handle(answer, machine: &machine, sentEvents: 0, sentBytes: 0)
        }
    }

    /// The body of the batch of the outbox items after `after` (at most `limit`), or nil when the next seq is
    /// not stored. Only the contiguous prefix is taken: the hub refuses a batch that starts past its mark.
    ///
    /// Seqs at or below `acknowledgedThrough` (the highest mark any hub answer gave) without a row are skipped, the
    /// batch's range spanning them: the hub acknowledged them once and then lost them (restored from a backup), and
    /// their local copies are gone (alert updates are deleted at the acknowledgement; events are evicted or erased).
    /// Nothing can resend them, and stopping at the first one stalled every later event for good.
    func prepare(
        after: UInt64, limit: Int, acknowledgedThrough: UInt64 = 0, builder: BatchBuilder
    ) async throws -> Cxsync_V1_Batch? {
        var entries = try await store.outboxPage(after: after, limit: limit)
        let through = entries.count == limit ? entries[entries.count - 1].seq : UInt64.max
        var alerts = try await store.outboxAlerts(after: after, through: through, limit: limit)
        var last = after
        var i = 0
        var j = 0
        var skipped: UInt64 = 0
        while last < through {
            if i < entries.count && entries[i].seq == last + 1 {
                i += 1
            } else if j < alerts.count && alerts[j].seq == last + 1 {
                j += 1
            } else if last < acknowledgedThrough {
                let next = min(
                    i < entries.count ? entries[i].seq : .max, j < alerts.count ? alerts[j].seq : .max, through)
                let to = min(next - 1, acknowledgedThrough)
                skipped += to - last
                last = to
                continue
            } else {
                break
            }
            last += 1
        }
        entries.removeSubrange(i...)
        alerts.removeSubrange(j...)
        guard last > after else { return nil }
        if skipped > 0 {
            logger.warning(
                "the hub lost items it had acknowledged, and this agent no longer holds them: they are skipped",
                metadata: ["seq_range": "\(after + 1)...\(last)", "skipped": "\(skipped)"])
        }
        return try builder.prepare(
            entries, alerts: alerts, modelVersions: try await store.modelVersions(), range: (after + 1)...last)
    }

    func handle(
        _ answer: HubClient.Answer, machine: inout SyncStateMachine, sentEvents: Int, sentBytes: Int
    ) async throws {
        let now = Self.nowMillis()
        let jitter = Double.random(in: 0..<1)
        switch answer {
        case .ack(let ack):
            let effects = machine.received(
                .acked(highWaterMark: ack.highWaterMark, more: ack.downstream.more), now: now, jitter: jitter,
                bytesSent: sentBytes)
            for effect in effects {
                switch effect {
                case .commitAck(let hwm):
                    try await store.commitAck(
                        highWaterMark: hwm, downstream: ack.hasDownstream ? ack.downstream : nil,
                        clockOffsetMillis: ack.clockOffsetMs, sentEvents: ack.duplicate ? 0 : sentEvents,
                        sentBytes: sentBytes)
                    monitor.update {
                        $0.lastAckAt = now
                        $0.clockOffsetMillis = ack.clockOffsetMs
                    }
                    if !ack.downstream.config.isEmpty { await configurationChanged() }
                    if !ack.downstream.alerts.isEmpty || !ack.downstream.config.isEmpty {
                        logger.info(
                            "downstream applied",
                            metadata: [
                                "alerts": "\(ack.downstream.alerts.count)", "config": "\(ack.downstream.config.count)",
                                "cursor": "\(ack.downstream.cursor)",
                            ])
                    }
                default: try await perform(effect)
                }
            }
            if sentEvents > 0 {
                logger.debug(
                    "batch acknowledged",
                    metadata: ["high_water_mark": "\(ack.highWaterMark)", "duplicate": "\(ack.duplicate)"])
            }
        case .refused(let error, let retryAfter):
            try await store.count("sync_refusals_total")
            let effects = machine.received(
                .refused(
                    code: error.code, message: error.message, expectedSeq: error.expectedSeq,
                    retryAfterMillis: retryAfter),
                now: now, jitter: jitter, bytesSent: sentBytes)
            for effect in effects { try await perform(effect) }
        case .failed(let reason):
            try await store.count("sync_failures_total")
            let effects = machine.received(.failed(reason: reason), now: now, jitter: jitter, bytesSent: 0)
            for effect in effects { try await perform(effect) }
        }
    }

    func perform(_ effect: SyncStateMachine.Effect) async throws {
        switch effect {
        case .commitAck(let hwm):
            try await store.commitAck(
                highWaterMark: hwm, downstream: nil, clockOffsetMillis: nil, sentEvents: 0, sentBytes: 0)
        case .discardInFlight:
            try await store.discardInFlight()
        case .log(let level, let message):
            log(level, message)
        }
    }

    /// The effects of `nothingToBuild`, which are only log lines.
    func perform(_ effects: [SyncStateMachine.Effect]) {
        for case .log(let level, let message) in effects { log(level, message) }
    }

    func log(_ level: SyncStateMachine.Level, _ message: String) {
        switch level {
        case .info: logger.info("\(message)")
        case .warning: logger.warning("\(message)")
        case .error: logger.error("\(message)")
        }
    }

    func publish(_ machine: SyncStateMachine, _ position: SyncPosition) {
        monitor.update {
            $0.lastSeq = position.lastSeq
            $0.syncedThrough = position.syncedThrough
            $0.unsynced = position.unsynced
            $0.inFlightFrom = machine.inFlight?.seqFrom
            $0.inFlightTo = machine.inFlight?.seqTo
            $0.consecutiveFailures = machine.attempt
            $0.lastError = machine.lastError
            if $0.state != "stalled" || machine.lastError == nil {
                $0.state = machine.attempt > 0 ? "backing_off" : (machine.inFlight != nil ? "sending" : "idle")
            }
        }
    }

    /// Milliseconds until the sync window opens (0 inside it or without one), in the box's local time.
    static func windowWait(_ window: SyncWindow?) -> Int64 {
        guard let window else { return 0 }
        let parts = Calendar.current.dateComponents([.hour, .minute], from: Date())
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        return Int64(window.minutesUntilOpen(minuteOfDay: minute)) * 60_000
    }

    static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

extension SyncService: CustomStringConvertible {
    /// What ServiceLifecycle logs for this service: the hub and the agent, no settings or keys.
    public var description: String {
        "SyncService(hub: \(AgentConfiguration.shownURL(credentials.hubURL)), agent_id: \(credentials.agentID))"
    }
}
