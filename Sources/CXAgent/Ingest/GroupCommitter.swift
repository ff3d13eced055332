import CXInsight

/// Groups concurrent ingest requests into one SQLite transaction, so that one fsync acknowledges many.
///
/// Leader/follower: the first request to arrive while no commit runs leads; it commits everything queued
/// (up to `maxEventsPerCommit`), answers the followers, and hands leadership to the oldest request still
/// waiting. No background task is needed and no request waits behind more than one commit it is not in.
public actor GroupCommitter {
    enum Wakeup {
        case done(SubmissionOutcome)
        case failed(any Error)
        case lead
    }

    struct Waiter {
        var id: UInt64
        var events: [PreparedEvent]
        var alerts: [InsightAlert]
        var continuation: CheckedContinuation<Wakeup, Never>?
    }

    let store: BufferStore
    let maxEventsPerCommit: Int
    let notifyWebhook: Bool
    private var queue: [Waiter] = []
    private var leaderActive = false
    private var nextID: UInt64 = 0
    /// Commits done and requests they carried, for the status endpoint and benchmarks.
    public private(set) var commits: UInt64 = 0
    public private(set) var groupedRequests: UInt64 = 0

    public init(store: BufferStore, maxEventsPerCommit: Int, notifyWebhook: Bool = false) {
        self.store = store
        self.maxEventsPerCommit = maxEventsPerCommit
        self.notifyWebhook = notifyWebhook
    }

    /// Returns once the request's events are committed (or refused as a whole for the quota).
    /// `alerts` (raised by these events) are stored in the same transaction, so an alert exists exactly when
    /// its events do, and costs no fsync of its own.
    public func submit(_ events: [PreparedEvent], alerts: [InsightAlert] = []) async throws -> SubmissionOutcome {
        let id = nextID
        nextID += 1
        if leaderActive {
            let wake = await withCheckedContinuation { continuation in
                queue.append(Waiter(id: id, events: events, alerts: alerts, continuation: continuation))
            }
            switch wake {
            case .done(let outcome): return outcome
            case .failed(let error): throw error
            case .lead: break
            }
        } else {
            leaderActive = true
            queue.append(Waiter(id: id, events: events, alerts: alerts, continuation: nil))
        }
        return try await lead(ownID: id)
    }

    private func lead(ownID: UInt64) async throws -> SubmissionOutcome {
        var group: [Waiter] = []
        var count = 0
        while let next = queue.first, group.isEmpty || count + next.events.count <= maxEventsPerCommit {
            group.append(queue.removeFirst())
            count += next.events.count
        }
        let result: Result<[SubmissionOutcome], any Error>
        do {
            result = .success(
                try await store.commit(
                    group.map(\.events), alerts: group.map(\.alerts), notifyWebhook: notifyWebhook))
        } catch {
            result = .failure(error)
        }
        commits += 1
        groupedRequests += UInt64(group.count)
        var own: Result<SubmissionOutcome, any Error> = .failure(BufferError(code: "internal", message: "lost result"))
        for (i, waiter) in group.enumerated() {
            let mine: Result<SubmissionOutcome, any Error> = result.map { $0[i] }
            if waiter.id == ownID {
                own = mine
            } else {
                switch mine {
                case .success(let o): waiter.continuation?.resume(returning: .done(o))
                case .failure(let e): waiter.continuation?.resume(returning: .failed(e))
                }
            }
        }
        if queue.isEmpty {
            leaderActive = false
        } else {
            queue[0].continuation?.resume(returning: .lead)
            queue[0].continuation = nil
        }
        return try own.get()
    }
}
