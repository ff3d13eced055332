import CXCore
import CXInsight
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
        let holdSeconds = 2.0
        // Another thread holds the memory for two seconds.
        Thread {
            enricher.state.withLock { _ in Thread.sleep(forTimeInterval: holdSeconds) }
        }.start()
        while enricher.state.withLockIfAvailable({ _ in }) != nil { try await Task.sleep(for: .milliseconds(5)) }
        let started = ContinuousClock.now
        // More waiting requests than the pool has threads: blocked, they would hold every thread until the release.
        let requests = 2 * ProcessInfo.processInfo.activeProcessorCount + 2
        try await withThrowingTaskGroup(of: EventEnricher.Packed.self) { group in
            for _ in 0..<requests {
                group.addTask {
                    var request = events
                    return await enricher.enrichPacked(&request)
                }
            }
            // A task queued behind them still runs at once.
            let ran = await Task.detached { ContinuousClock.now }.value
            #expect(ran - started < .seconds(holdSeconds / 2))
            var done = 0
            for try await packed in group {
                #expect(packed.enrichments.count == events.count)
                #expect(packed.customerKeys.count { $0 != nil } == events.count { $0.customerID != nil })
                done += 1
            }
            #expect(done == requests)
        }
        // None could finish before the memory was free again.
        #expect(ContinuousClock.now - started >= .seconds(holdSeconds * 0.9))
    }
}
