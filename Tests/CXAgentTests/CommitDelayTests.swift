import CXAgent
import CXCore
import CXTestSupport
import Foundation
import Testing

/// An idle writer waits `commit_delay_us` for requests that are still being prepared, so that they share one
/// commit; with nothing being prepared it commits at once.
@Suite struct CommitDelayTests {
    static func events(_ n: Int) -> [PreparedEvent] {
        (0..<n).map { _ in
            PreparedEvent(
                eventID: UUID(), occurredAt: 1_704_067_200_000, type: .surveyNPS, payload: [0x1A, 0x01, 0x61])
        }
    }

    @Test func anAnnouncedRequestJoinsTheCommitOfTheOneBeforeIt() async throws {
        let dir = TempDir()
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        // Long enough that the second request surely arrives inside it, even on a loaded machine.
        let committer = GroupCommitter(store: store, maxEventsPerCommit: 1000, commitDelay: .seconds(2))
        committer.announce()
        committer.announce()
        async let first = committer.submit(Self.events(3), announced: true)
        async let second = committer.submit(Self.events(4), announced: true)
        let outcomes = try await [first, second]
        for outcome in outcomes {
            guard case .committed = outcome else {
                Issue.record("not committed: \(outcome)")
                return
            }
        }
        #expect(committer.commits == 1)
        #expect(committer.groupedRequests == 2)
        #expect(committer.preparingRequests == 0)
        #expect(try await store.stats().lastSeq == 7)
    }

    @Test func withNothingBeingPreparedEachRequestCommitsAtOnce() async throws {
        let dir = TempDir()
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let committer = GroupCommitter(store: store, maxEventsPerCommit: 1000, commitDelay: .seconds(30))
        let clock = ContinuousClock()
        let start = clock.now
        _ = try await committer.submit(Self.events(2))
        _ = try await committer.submit(Self.events(2))
        // A wait would have taken 30 s per request.
        #expect(clock.now - start < .seconds(20))
        #expect(committer.commits == 2)
    }

    /// A request rejected whole takes its announcement back: the writer does not wait for it.
    @Test func aRejectedRequestWithdrawsItsAnnouncement() async throws {
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        c.commitDelay = .seconds(30)
        c.enrichmentEnabled = false
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let ingest = try IngestService(store: store, configuration: c)
        let bad = try await ingest.ingest(body: Array("{\"event_id\":\"nope\"}".utf8), contentType: nil)
        #expect(bad.status == 422)
        #expect(ingest.committer.preparingRequests == 0)
        let clock = ContinuousClock()
        let start = clock.now
        let ok = try await ingest.ingest(body: TestEvents.ndjson([UUID()]), contentType: nil)
        #expect(ok.accepted == 1)
        #expect(clock.now - start < .seconds(20))
    }

    @Test(arguments: [("commit_delay_us: 2500", 2500), ("commit_delay_us: 0", 0)])
    func theDelayIsConfigured(_ yaml: String, _ micros: Int64) throws {
        let dir = TempDir()
        let path = dir.path + "/agent.yaml"
        try "data_directory: \(dir.path)\n\(yaml)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let c = try AgentConfiguration.load(file: path, environment: [:])
        #expect(c.commitDelay == .microseconds(micros))
        let env = try AgentConfiguration.load(file: path, environment: ["CX_AGENT_COMMIT_DELAY_US": "700"])
        #expect(env.commitDelay == .microseconds(700))
        #expect(throws: (any Error).self) {
            try AgentConfiguration.load(file: path, environment: ["CX_AGENT_COMMIT_DELAY_US": "500000"])
        }
    }
}
