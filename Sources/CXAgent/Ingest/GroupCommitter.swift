import Dispatch
import GRDB
import Synchronization

/// Groups concurrent ingest requests into one SQLite transaction, so that one fsync acknowledges many.
///
/// Requests queue here; the writer's own queue drains them, one group commit per turn, up to
/// `maxEventsPerCommit` events each. A commit that ends with requests waiting schedules the next turn right
/// there, on the writer's queue: the next commit never waits for a thread of the cooperative pool, which is
/// busy parsing and enriching the requests behind it. (Under enriched ingest no commit ran for ~25% of the time
/// with the hop; removing it alone did not move the benchmark measurably: most of that gap is requests still
/// on their way.) Other writers (sync acks, alert updates) queue on the same serial queue and get their turn
/// between two group commits.
public final class GroupCommitter: Sendable {
    struct Waiter {
        var events: [PreparedEvent]
        var alerts: [PreparedAlert]
        /// The erased customers' generation its events were checked against; nil when unchecked.
        var erasureGeneration: UInt64?
        var continuation: CheckedContinuation<Result<SubmissionOutcome, any Error>, Never>
    }

    struct State {
        var queue: [Waiter] = []
        /// A turn is scheduled on the writer's queue or running; it schedules the next one while work waits.
        var draining = false
        var commits: UInt64 = 0
        var groupedRequests: UInt64 = 0
        /// Requests announced (being parsed and enriched) that have not reached `submit` yet.
        var preparing = 0
        /// A turn waits for announced requests (`commitDelay`); `delays` tells its timer from a later one's.
        var waiting = false
        var delays: UInt64 = 0
        /// How many requests were being prepared when the wait began, less those that arrived since (any arrival
        /// counts, whichever request it is). A later announcement does not lengthen the wait: under load one is
        /// always on its way, and the writer then sat out the whole delay.
        var awaited = 0
        var waitBegan = ContinuousClock.now
        /// Time the writer spent waiting for announced requests, over all waits.
        var waited: Duration = .zero

        /// Begins a wait for the requests announced now.
        mutating func beginWait() {
            waiting = true
            delays += 1
            awaited = preparing
            waitBegan = .now
        }

        /// Ends the current wait.
        mutating func endWait() {
            waiting = false
            waited += .now - waitBegan
        }

        /// An announced request arrived (submitted or withdrawn); during a wait, one fewer is awaited.
        mutating func arrive() {
            preparing -= 1
            if waiting { awaited -= 1 }
        }

        /// Ends a wait once every request it waits for has arrived; returns whether the turn must be scheduled now.
        mutating func endWaitIfArrived() -> Bool {
            guard waiting, awaited <= 0, !queue.isEmpty else { return false }
            endWait()
            return true
        }

        /// Ends a wait once the group is full; returns whether the turn must be scheduled now.
        mutating func endWaitIfFull(_ maxEvents: Int) -> Bool {
            guard waiting, queue.reduce(0, { $0 + $1.events.count }) >= maxEvents else { return false }
            endWait()
            return true
        }
    }

    let store: BufferStore
    let maxEventsPerCommit: Int
    let notifyWebhook: Bool
    let commitDelay: Duration
    private let state = Mutex(State())

    /// Commits done, for the status endpoint and benchmarks.
    public var commits: UInt64 { state.withLock { $0.commits } }
    /// Requests those commits carried (more requests than commits: the grouping works).
    public var groupedRequests: UInt64 { state.withLock { $0.groupedRequests } }
    /// Waits for announced requests so far (`commitDelay`), and the time they took together.
    public var commitWaits: (count: UInt64, time: Duration) { state.withLock { ($0.delays, $0.waited) } }
    /// Requests announced and not yet submitted or withdrawn.
    public var preparingRequests: Int { state.withLock { $0.preparing } }

    /// `commitDelay`: how long an idle writer waits, when other requests are being prepared, before committing
    /// what is queued (zero: at once).
    public init(store: BufferStore, maxEventsPerCommit: Int, notifyWebhook: Bool = false, commitDelay: Duration = .zero)
    {
        self.store = store
        self.maxEventsPerCommit = maxEventsPerCommit
        self.notifyWebhook = notifyWebhook
        self.commitDelay = commitDelay
    }

    /// Announces a request that will be submitted once prepared; `submit(_:alerts:announced: true)` or
    /// `withdraw()` must follow. An idle writer waits up to `commitDelay` for announced requests.
    public func announce() {
        state.withLock { $0.preparing += 1 }
    }

    /// Takes back an announcement whose request will not be submitted (rejected whole, failed).
    public func withdraw() {
        let due = state.withLock { s in
            s.arrive()
            return s.endWaitIfArrived()
        }
        if due { scheduleTurn() }
    }

    /// Returns once the request's events are committed (or refused as a whole for the quota).
    /// `alerts` (raised by these events) are stored in the same transaction, so an alert exists exactly when
    /// its events do, and costs no fsync of its own.
    /// `erasureGeneration` is the generation of the erased customers the events were checked against
    /// (`BufferStore.erasedCustomers`).
    public func submit(
        _ events: [PreparedEvent], alerts: [PreparedAlert] = [], announced: Bool = false,
        erasureGeneration: UInt64? = nil
    ) async throws -> SubmissionOutcome {
        let result = await withCheckedContinuation { continuation in
            let next = state.withLock { s -> NextTurn in
                if announced { s.arrive() }
                s.queue.append(
                    Waiter(
                        events: events, alerts: alerts, erasureGeneration: erasureGeneration,
                        continuation: continuation))
                if s.endWaitIfFull(maxEventsPerCommit) || s.endWaitIfArrived() { return .now }
                guard !s.draining else { return .alreadyScheduled }
                s.draining = true
                // Group commit's other half (PostgreSQL's commit_delay with commit_siblings): when the writer is
                // idle but requests are still being prepared, a short wait lets them share this commit's fsync.
                // Under enriched ingest the writer otherwise committed most requests alone (1.5 requests per
                // commit against 2.4 without enrichment), and the extra commits cost more than the enrichment.
                // The wait ends early once the group is full, or once the requests announced when it began have
                // arrived.
                guard s.preparing > 0 && events.count < maxEventsPerCommit && commitDelay > .zero else { return .now }
                s.beginWait()
                return .afterDelay(timer: s.delays)
            }
            switch next {
            case .alreadyScheduled: break
            case .now: scheduleTurn()
            case .afterDelay(let timer):
                let deadline = DispatchTime.now() + .microseconds(Int(commitDelay.microseconds))
                DispatchQueue.global().asyncAfter(deadline: deadline) {
                    // Unless the wait already ended (a full group) and a later one began.
                    let due = self.state.withLock { s in
                        guard s.waiting && s.delays == timer else { return false }
                        s.endWait()
                        return true
                    }
                    if due { self.scheduleTurn() }
                }
            }
        }
        return try result.get()
    }

    /// What a submission does to the writer's turns.
    private enum NextTurn {
        /// A turn is running, scheduled or waiting already; it takes this request.
        case alreadyScheduled
        case now
        /// Wait `commitDelay` for the requests being prepared; `timer` identifies this wait.
        case afterDelay(timer: UInt64)
    }

    private func scheduleTurn() {
        store.pool.asyncWriteWithoutTransaction { db in self.turn(db) }
    }

    /// One group commit on the writer's queue: everything queued, oldest first, up to `maxEventsPerCommit`
    /// events (and at least one request).
    private func turn(_ db: Database) {
        let group = state.withLock { s in
            var count = 0
            var n = 0
            while n < s.queue.count && (n == 0 || count + s.queue[n].events.count <= maxEventsPerCommit) {
                count += s.queue[n].events.count
                n += 1
            }
            let group = Array(s.queue.prefix(n))
            s.queue.removeFirst(n)
            return group
        }
        let result = Result {
            try store.commitOnWriter(
                group.map(\.events), alerts: group.map(\.alerts), notifyWebhook: notifyWebhook,
                checked: group.map(\.erasureGeneration), db)
        }
        let more = state.withLock { s in
            s.commits += 1
            s.groupedRequests += UInt64(group.count)
            if s.queue.isEmpty { s.draining = false }
            return s.draining
        }
        if more { scheduleTurn() }
        for (i, waiter) in group.enumerated() {
            waiter.continuation.resume(returning: result.map { $0[i] })
        }
    }
}
