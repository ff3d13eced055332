import CXProtocol

/// Groups concurrent merges into one SQLite transaction, so that one fsync (and one write of each index page
/// they share) acknowledges several agents' batches.
///
/// Each batch runs in its own savepoint: a refused batch rolls back alone and the others still commit. Every
/// ack is sent only after the transaction holding its batch committed. Leader/follower as in the agent's
/// group commit: the first merge to arrive while none runs leads, carries everything queued, answers the
/// followers and hands leadership on; there is no background task.
actor MergeCommitter {
    enum Wakeup {
        case done(Result<MergeResult, HubError>)
        case lead
    }

    struct Waiter {
        var id: UInt64
        var job: MergeJob
        var continuation: CheckedContinuation<Wakeup, Never>?
    }

    unowned let store: HubStore
    let maxEventsPerCommit: Int
    private var queue: [Waiter] = []
    private var leaderActive = false
    private var nextID: UInt64 = 0
    private(set) var commits: UInt64 = 0
    private(set) var batches: UInt64 = 0

    init(store: HubStore, maxEventsPerCommit: Int = 20_000) {
        self.store = store
        self.maxEventsPerCommit = maxEventsPerCommit
    }

    func submit(_ job: MergeJob) async -> Result<MergeResult, HubError> {
        let id = nextID
        nextID += 1
        if leaderActive {
            let wake = await withCheckedContinuation { continuation in
                queue.append(Waiter(id: id, job: job, continuation: continuation))
            }
            switch wake {
            case .done(let result): return result
            case .lead: break
            }
        } else {
            leaderActive = true
            queue.append(Waiter(id: id, job: job, continuation: nil))
        }
        return await lead(ownID: id)
    }

    private func lead(ownID: UInt64) async -> Result<MergeResult, HubError> {
        var group: [Waiter] = []
        var count = 0
        while let next = queue.first, group.isEmpty || count + next.job.batch.events.count <= maxEventsPerCommit {
            group.append(queue.removeFirst())
            count += next.job.batch.events.count
        }
        let results = await store.mergeGroup(group.map(\.job))
        commits += 1
        batches += UInt64(group.count)
        var own: Result<MergeResult, HubError> = .failure(HubError("internal", "lost merge result", status: 500))
        for (waiter, result) in zip(group, results) {
            if waiter.id == ownID {
                own = result
            } else {
                waiter.continuation?.resume(returning: .done(result))
            }
        }
        if queue.isEmpty {
            leaderActive = false
        } else {
            queue[0].continuation?.resume(returning: .lead)
            queue[0].continuation = nil
        }
        return own
    }
}

/// One batch waiting to be merged.
struct MergeJob: Sendable {
    var batch: SyncBatch
    /// The batch's event rows, prepared outside the serial merge transaction.
    var rows: EventRows
    var frameBytes: Int
    var policy: MergePolicy
    var clock: ClockAssessment
    var now: Int64
}
