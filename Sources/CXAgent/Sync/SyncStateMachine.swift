/// The agent's sync protocol as a pure state machine: it decides, `SyncService` performs.
///
/// Inputs are what happened (a batch was built, the hub answered, the request failed) together with the time;
/// outputs are what to do next. No clock, no randomness and no I/O inside, so every path (gap rewind, hash
/// conflict, back-pressure, backoff, stall) is tested directly.
public struct SyncStateMachine: Sendable {
    public struct Settings: Sendable, Hashable {
        public var syncIntervalMillis: Int64 = 500
        public var pollIntervalMillis: Int64 = 10_000
        public var backoffInitialMillis: Int64 = 500
        public var backoffMaxMillis: Int64 = 60_000
        public var stallAfterMillis: Int64 = 120_000
        public var maxBatchEvents: Int = 5_000
        /// Upstream bytes per second; 0: unlimited.
        public var bandwidthLimit: Int = 0
        /// A persisted batch sealed longer ago than this is rebuilt instead of posted again: the hub measures the
        /// box's clock by the batch's `sent_hlc`, and after an outage the old stamp reads as a clock that far behind
        /// (the hub would flag the box and move every HLC of the batch by the outage). Half the hub's default
        /// `skew_threshold_seconds`.
        public var maxFrameAgeMillis: Int64 = 60_000

        public init() {}
    }

    /// A batch frame that has been persisted before its first post, so that every retry sends the same bytes.
    public struct InFlight: Sendable, Hashable {
        public var seqFrom: UInt64
        public var seqTo: UInt64
        public var frame: [UInt8]
        /// The wall clock when the frame was sealed, its `sent_hlc`; 0 when not known (a batch persisted by an
        /// earlier version), which makes it rebuilt before its next post.
        public var sealedAtMillis: Int64

        public init(seqFrom: UInt64, seqTo: UInt64, frame: [UInt8], sealedAtMillis: Int64 = 0) {
            self.seqFrom = seqFrom
            self.seqTo = seqTo
            self.frame = frame
            self.sealedAtMillis = sealedAtMillis
        }
    }

    public enum Action: Sendable, Hashable {
        /// Post the persisted batch (again).
        case send(InFlight)
        /// Read the outbox after `after`, at most `limit` events, build, persist and report it with `built`.
        case build(after: UInt64, limit: Int)
        /// Post a downstream-only poll.
        case poll
        /// Nothing to do before this many milliseconds.
        case sleep(milliseconds: Int64)
    }

    /// How the hub answered, or why it did not.
    public enum Outcome: Sendable, Hashable {
        case acked(highWaterMark: UInt64, more: Bool)
        case refused(code: String, message: String, expectedSeq: UInt64, retryAfterMillis: Int64?)
        case failed(reason: String)
    }

    /// What the executor must do after an outcome, in order.
    public enum Effect: Sendable, Hashable {
        /// Record that the hub holds everything through `highWaterMark`; drop the persisted batch if any.
        case commitAck(highWaterMark: UInt64)
        /// Drop the persisted batch without advancing anything.
        case discardInFlight
        case log(Level, String)
    }

    public enum Level: Sendable, Hashable { case info, warning, error }

    public private(set) var settings: Settings
    /// Everything at or below this is durable at the hub, as far as this agent knows.
    public private(set) var syncedThrough: UInt64
    /// Where the next batch starts reading; below `syncedThrough` only after the hub asked to rewind.
    public private(set) var sendAfter: UInt64
    public private(set) var inFlight: InFlight?
    /// Consecutive failed attempts; 0 after any answer that made progress.
    public private(set) var attempt = 0
    public private(set) var lastError: String?
    /// The batch size in force: halved when the hub refuses a frame as too large.
    public private(set) var batchLimit: Int
    var waitUntil: Int64 = 0
    var pollNow = true
    /// Set at start: the hub's mark is learned before any new seq is sent, so that a buffer restored from a copy is
    /// found (`BufferStore.renumberUnsent`) before its new events are posted under seqs the hub holds.
    var mustPoll = true
    var lastPollAt: Int64 = .min / 2
    var lastProgressAt: Int64
    var lastStallReportAt: Int64 = .min / 2
    var sentPoll = false

    public init(settings: Settings, syncedThrough: UInt64, inFlight: InFlight?, now: Int64) {
        self.settings = settings
        self.syncedThrough = syncedThrough
        self.sendAfter = syncedThrough
        self.inFlight = inFlight
        self.batchLimit = settings.maxBatchEvents
        self.lastProgressAt = now
    }

    /// The next step. `lastSeq` is the newest outbox seq; `windowOpensInMillis` is 0 inside the sync window.
    public mutating func nextAction(now: Int64, lastSeq: UInt64, windowOpensInMillis: Int64 = 0) -> Action {
        if now < waitUntil { return .sleep(milliseconds: waitUntil - now) }
        if windowOpensInMillis > 0 { return .sleep(milliseconds: min(windowOpensInMillis, 60_000)) }
        if let inFlight {
            sentPoll = false
            guard now - inFlight.sealedAtMillis > settings.maxFrameAgeMillis else { return .send(inFlight) }
            // Sealed before an outage: built again with the same start, it carries this moment's stamp. Had the hub
            // merged the old frame (its answer lost), the new one is answered as a hash conflict or past its mark.
            self.inFlight = nil
            return .build(after: sendAfter, limit: batchLimit)
        }
        if mustPoll || (pollNow || now - lastPollAt >= settings.pollIntervalMillis) && lastSeq <= sendAfter {
            // `mustPoll` holds until an answer tells the hub's mark (`received`): a poll that failed is made again
            sentPoll = true
            return .poll
        }
        if lastSeq > sendAfter { return .build(after: sendAfter, limit: batchLimit) }
        let untilPoll = settings.pollIntervalMillis - (now - lastPollAt)
        return .sleep(milliseconds: max(1, min(settings.syncIntervalMillis, untilPoll)))
    }

    /// A batch for `.build` was read, framed and persisted.
    public mutating func built(_ batch: InFlight) {
        inFlight = batch
    }

    /// `.build` found nothing to send after `after` (the outbox moved on, or local copies are gone).
    public mutating func nothingToBuild(firstAvailable: UInt64?, now: Int64) -> [Effect] {
        guard let first = firstAvailable, first > sendAfter + 1 else { return [] }
        let message =
            "the hub expects seq \(sendAfter + 1) but the oldest local copy is seq \(first): "
            + "the events in between were evicted after an earlier acknowledgement"
        lastError = message
        backoff(now: now, jitter: 1)
        return [.log(.error, message)]
    }

    /// Feeds the answer to the last `.send` or `.poll`. `jitter` in [0, 1) draws the full-jitter backoff;
    /// `bytesSent` paces the bandwidth cap.
    public mutating func received(_ outcome: Outcome, now: Int64, jitter: Double, bytesSent: Int) -> [Effect] {
        let wasPoll = sentPoll
        sentPoll = false
        if settings.bandwidthLimit > 0 && bytesSent > 0 {
            waitUntil = max(waitUntil, now + Int64(bytesSent) * 1000 / Int64(settings.bandwidthLimit))
        }
        switch outcome {
        case .acked(let hwm, let more):
            var effects: [Effect] = [.commitAck(highWaterMark: hwm)]
            if hwm < syncedThrough {
                effects.append(
                    .log(.warning, "the hub holds only through seq \(hwm), below \(syncedThrough): resending"))
            }
            if hwm > syncedThrough || wasPoll || inFlight != nil { lastProgressAt = now }
            syncedThrough = max(syncedThrough, hwm)
            sendAfter = hwm
            inFlight = nil
            mustPoll = false  // the hub's mark is known now
            attempt = 0
            lastError = nil
            if wasPoll { lastPollAt = now }
            pollNow = more
            return effects
        case .refused(let code, let message, let expected, let retryAfter):
            lastError = "\(code): \(message)"
            switch code {
            case "gap":
                guard expected >= 1 else { return fail(now: now, jitter: jitter, code: code, message: message) }
                var effects: [Effect] = [.discardInFlight]
                inFlight = nil
                mustPoll = false  // the hub's mark is known now
                if expected - 1 > syncedThrough {
                    effects.append(.commitAck(highWaterMark: expected - 1))
                    syncedThrough = expected - 1
                    lastProgressAt = now
                } else if expected - 1 < syncedThrough {
                    effects.append(
                        .log(
                            .warning,
                            "the hub expects seq \(expected), below the acknowledged \(syncedThrough + 1): rewinding"))
                }
                sendAfter = expected - 1
                attempt = 0
                return effects
            case "hash_conflict":
                // The hub holds this key with other content (the batch was rebuilt after a crash): learn its
                // high-water mark from a poll and continue after it.
                inFlight = nil
                mustPoll = true
                return [
                    .discardInFlight,
                    .log(.warning, "the hub holds this range with other content; asking for its high-water mark"),
                ]
            case "frame_too_large", "too_many_items":
                inFlight = nil
                batchLimit = max(1, batchLimit / 2)
                return [
                    .discardInFlight,
                    .log(
                        .warning,
                        "the hub refused the batch as too large (\(message)); batches now hold at most \(batchLimit) events"
                    ),
                ]
            case "clock_drift":
                // Rebuilt, not re-sent: the builder moves timestamps from a clock that was ahead back to now (rows
                // stamped while the box's clock ran years ahead would otherwise be refused until that date).
                inFlight = nil
                backoff(now: now, jitter: jitter)
                return [
                    .discardInFlight,
                    .log(.error, "the hub refused the batch (clock_drift): \(message); rebuilding it"),
                ]
            case "busy", "overloaded", "unavailable", "request_timeout":
                attempt += 1
                waitUntil = max(waitUntil, now + (retryAfter ?? backoffMillis(jitter: jitter)))
                return [.log(.info, "the hub asked to retry later: \(message)")]
            default:
                return fail(now: now, jitter: jitter, code: code, message: message)
            }
        case .failed(let reason):
            lastError = reason
            backoff(now: now, jitter: jitter)
            return [.log(.warning, "sync attempt \(attempt) failed: \(reason)")]
        }
    }

    /// A stall report when the outbox has been waiting longer than `stallAfter` without progress, at most once
    /// per `stallAfter`.
    public mutating func stallReport(now: Int64, unsynced: UInt64) -> String? {
        if unsynced == 0 {
            lastProgressAt = now
            return nil
        }
        guard now - lastProgressAt >= settings.stallAfterMillis,
            now - lastStallReportAt >= settings.stallAfterMillis
        else { return nil }
        lastStallReportAt = now
        let seconds = (now - lastProgressAt) / 1000
        return
            "no sync progress for \(seconds) s with \(unsynced) events waiting: \(lastError ?? "no answer from the hub yet")"
    }

    mutating func fail(now: Int64, jitter: Double, code: String, message: String) -> [Effect] {
        backoff(now: now, jitter: jitter)
        return [.log(.error, "the hub refused the batch (\(code)): \(message)")]
    }

    /// One more failed attempt: wait a full-jitter backoff (never less than a wait already decided).
    mutating func backoff(now: Int64, jitter: Double) {
        attempt += 1
        waitUntil = max(waitUntil, now + backoffMillis(jitter: jitter))
    }

    /// Full jitter: uniform in [0, min(cap, initial × 2^(attempt−1))].
    func backoffMillis(jitter: Double) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = min(settings.backoffMaxMillis, settings.backoffInitialMillis << Int64(exponent))
        return Int64((Double(ceiling) * min(max(jitter, 0), 1)).rounded())
    }
}
