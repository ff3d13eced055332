import CXCore
import CXInsight
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import CXAgent

/// Requests share the enricher's memory across events (customer keys, near-duplicates, alert rules). One that finds
/// it taken must give its thread to other tasks while it waits: the cooperative pool has one thread per core, and a
/// blocked one left ingest a core short.
@Suite struct EnricherContentionTests {
    @Test func aRequestWaitingForTheSharedMemoryLeavesItsThreadToOtherTasks() async throws {
        let enricher = try EventEnricher(fleetKey: Array(repeating: 5, count: 32))
        let events = try PackedEnrichmentTests.events()
        // Another thread holds the memory until the test lets go, or for a minute at most: requests that blocked
        // their threads would keep the test's own task from ever letting go.
        let state = HolderState()
        let release = DispatchSemaphore(value: 0)
        let limit = 60.0
        Thread {
            enricher.state.withLock { _ in
                state.held.withLock { $0 = true }
                _ = release.wait(timeout: .now() + limit)
                state.released.withLock { $0 = true }
            }
        }.start()
        while !state.held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        // More waiting requests than the pool has threads.
        let requests = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        try await withThrowingTaskGroup(of: (EventEnricher.Packed, Bool).self) { group in
            for _ in 0..<requests {
                group.addTask {
                    var request = events
                    let packed = await enricher.enrichPacked(&request)
                    return (packed, state.released.withLock { $0 })
                }
            }
            // A task queued behind them runs while the memory is still held (no bound on how long it takes to: a
            // loaded CI host is slow, but not a minute slow).
            let ranWhileHeld = await Task.detached { !state.released.withLock { $0 } }.value
            #expect(ranWhileHeld, "a task behind the waiting requests ran only once the memory was let go")
            release.signal()
            var done = 0
            for try await (packed, afterRelease) in group {
                #expect(afterRelease, "a request went on while another thread held the memory")
                #expect(packed.enrichments.count == events.count)
                #expect(
                    packed.customerKeys.count { $0 != nil }
                        == events.count { $0.customerID != nil && $0.customerID != "--" })
                done += 1
            }
            #expect(done == requests)
        }
    }

    /// Requests that find another request's turn at the memory wait suspended, each counted once, rather than retry on
    /// their threads; they all go on once the turn is passed, and a task behind them runs while they wait.
    @Test func requestsWaitingForTheirTurnAreSuspended() async throws {
        let enricher = try EventEnricher(fleetKey: Array(repeating: 5, count: 32))
        let events = try PackedEnrichmentTests.events()
        await enricher.takeTurn()
        // Were the waiting requests' threads blocked, neither the test's own task nor the task below could run
        // before the turn is passed: a watchdog passes it after two minutes, so that the test then fails instead of
        // hanging.
        let pass = PassOnce(enricher)
        let watchdog = DispatchSemaphore(value: 0)
        Thread {
            _ = watchdog.wait(timeout: .now() + 120)
            pass()
        }.start()
        let finished = Finished()
        let requests = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<requests {
                group.addTask {
                    var request = events
                    let packed = await enricher.enrichPacked(&request)
                    #expect(packed.enrichments.count == events.count)
                    finished.count.withLock { $0 += 1 }
                }
            }
            await Self.waitUntil(requests, waitFor: enricher)
            #expect(enricher.turnWaits == (total: requests, now: requests))
            #expect(finished.count.withLock { $0 } == 0)
            // A task queued behind the waiting requests runs while the turn is still held; no bound on how long it
            // takes to (a loaded CI host took 2.4 s).
            let ranWhileHeld = await Task.detached { !pass.passed.withLock { $0 } }.value
            #expect(ranWhileHeld, "a task behind the waiting requests ran only once the turn was passed")
            pass()
            watchdog.signal()
            try await group.waitForAll()
        }
        #expect(finished.count.withLock { $0 } == requests)
        #expect(enricher.turnWaits == (total: requests, now: 0))
        // The turn is free again: a request that comes now does not wait.
        var request = events
        _ = await enricher.enrichPacked(&request)
        #expect(enricher.turnWaits.total == requests)
    }

    /// Turns go in arrival order, one holder at a time: each waiter, once it has the turn, is alone with it until it
    /// passes it on.
    @Test func turnsGoInArrivalOrderOneAtATime() async throws {
        let enricher = try EventEnricher(fleetKey: Array(repeating: 5, count: 32))
        await enricher.takeTurn()
        let log = TurnLog()
        let waiters = 6
        await withTaskGroup(of: Void.self) { group in
            for k in 0..<waiters {
                group.addTask {
                    await enricher.takeTurn()
                    log.enter(k)
                    try? await Task.sleep(for: .milliseconds(5))
                    log.leave()
                    enricher.passTurn()
                }
                // the next waiter starts only once this one waits
                await Self.waitUntil(k + 1, waitFor: enricher)
            }
            enricher.passTurn()
        }
        #expect(log.order.withLock { $0 } == Array(0..<waiters))
        #expect(log.overlapped.withLock { $0 } == false)
        #expect(enricher.turnWaits == (total: waiters, now: 0))
    }

    /// Returns once `count` requests wait for their turn at `enricher`, or after 20 seconds.
    static func waitUntil(_ count: Int, waitFor enricher: EventEnricher) async {
        // Each request analyses its events before it waits: a CI run of acf4783 under the full parallel suite had 5 of
        // 6 waiting after 20 s (the test took 35 s; alone it takes 0.5 s).
        let deadline = ContinuousClock.now + .seconds(60)
        while enricher.turnWaits.now < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Who had the turn, in order, and whether two ever held it at once.
    final class TurnLog: Sendable {
        let order = Mutex<[Int]>([])
        let holders = Mutex(0)
        let overlapped = Mutex(false)

        func enter(_ k: Int) {
            order.withLock { $0.append(k) }
            holders.withLock {
                $0 += 1
                if $0 > 1 { overlapped.withLock { $0 = true } }
            }
        }

        func leave() { holders.withLock { $0 -= 1 } }
    }

    /// How many of the waiting requests finished.
    final class Finished: Sendable {
        let count = Mutex(0)
    }

    /// Passes a held turn on once, whichever of the test and its watchdog comes first.
    final class PassOnce: Sendable {
        let enricher: EventEnricher
        let passed = Mutex(false)
        init(_ enricher: EventEnricher) { self.enricher = enricher }

        func callAsFunction() {
            let first = passed.withLock { was in
                defer { was = true }
                return !was
            }
            if first { enricher.passTurn() }
        }
    }

    /// What the holding thread tells the test: that it holds the memory, and that it let go.
    final class HolderState: Sendable {
        let held = Mutex(false)
        let released = Mutex(false)
    }
}
