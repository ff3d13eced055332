import CXAgent
import CXConfiguration
import CXCore
import CXTestSupport
import Foundation
import Testing

/// An idle writer waits `commit_delay_us` for requests that are still being prepared, so that they share one
/// commit; with nothing being prepared it commits at once.
///
/// No test reads a clock (a loaded parallel run stalls everything for many seconds): the delays are an hour,
/// and a wait that should not happen runs into the test's time limit.
@Suite(.timeLimit(.minutes(5))) struct CommitDelayTests {
    static func events(_ n: Int) -> [PreparedEvent] {
        (0..<n).map { _ in
            PreparedEvent(
                eventID: UUID(), occurredAt: 1_704_067_200_000, type: .surveyNPS, payload: [0x1A, 0x01, 0x61])
        }
    }

    /// A committer on a fresh buffer in `dir`, with `announced` requests announced.
    static func committer(
        in dir: TempDir, maxEvents: Int = 1000, delay: Duration, announced: Int = 0
    ) throws -> (BufferStore, GroupCommitter) {
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let committer = GroupCommitter(store: store, maxEventsPerCommit: maxEvents, commitDelay: delay)
        for _ in 0..<announced { committer.announce() }
        return (store, committer)
    }

    @Test func anAnnouncedRequestJoinsTheCommitOfTheOneBeforeIt() async throws {
        let dir = TempDir()
        // The wait ends as soon as the group is full (7 events), long before the hour.
        let (store, committer) = try Self.committer(in: dir, maxEvents: 7, delay: .seconds(3600), announced: 2)
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

    /// The wait ends once the requests announced when it began have arrived, though the group is not full.
    @Test func theWaitEndsWhenTheAwaitedRequestsArrive() async throws {
        let dir = TempDir()
        let (store, committer) = try Self.committer(in: dir, delay: .seconds(3600), announced: 2)
        async let first = committer.submit(Self.events(2), announced: true)
        async let second = committer.submit(Self.events(3), announced: true)
        _ = try await [first, second]
        #expect(committer.commits == 1)
        #expect(committer.groupedRequests == 2)
        #expect(committer.commitWaits.count == 1)
        #expect(try await store.stats().lastSeq == 5)
    }

    /// A request announced during a wait does not lengthen it: under load one is always on its way, and the
    /// writer would sit out the whole delay every time.
    @Test func aRequestAnnouncedDuringTheWaitDoesNotLengthenIt() async throws {
        let dir = TempDir()
        let (store, committer) = try Self.committer(in: dir, delay: .seconds(3600), announced: 2)
        async let first = committer.submit(Self.events(2), announced: true)
        while committer.commitWaits.count == 0 { try await Task.sleep(for: .milliseconds(1)) }
        committer.announce()
        _ = try await committer.submit(Self.events(3), announced: true)
        _ = try await first
        #expect(committer.commits == 1)
        #expect(committer.groupedRequests == 2)
        #expect(committer.preparingRequests == 1)
        #expect(try await store.stats().lastSeq == 5)
        committer.withdraw()
        #expect(committer.preparingRequests == 0)
    }

    @Test func withNothingBeingPreparedEachRequestCommitsAtOnce() async throws {
        let dir = TempDir()
        let (_, committer) = try Self.committer(in: dir, delay: .seconds(3600))
        _ = try await committer.submit(Self.events(2))
        _ = try await committer.submit(Self.events(2))
        #expect(committer.commits == 2)
    }

    /// The wait lasts at most the delay when an announced request does not come.
    @Test func theWaitEndsAfterTheDelay() async throws {
        let dir = TempDir()
        let (_, committer) = try Self.committer(in: dir, delay: .milliseconds(200), announced: 2)
        _ = try await committer.submit(Self.events(2), announced: true)
        #expect(committer.commits == 1)
        #expect(committer.preparingRequests == 1)
        committer.withdraw()
        #expect(committer.preparingRequests == 0)
    }

    /// A request rejected whole takes its announcement back: the writer does not wait for it.
    @Test func aRejectedRequestWithdrawsItsAnnouncement() async throws {
        let dir = TempDir()
        var c = AgentConfiguration()
        c.dataDirectory = dir.path
        c.commitDelay = .seconds(3600)
        c.enrichmentEnabled = false
        let store = try BufferStore.open(directory: dir.path, quotaBytes: 1 << 30, logger: testLogger)
        let ingest = try IngestService(store: store, configuration: c)
        let bad = try await ingest.ingest(body: Array("{\"event_id\":\"nope\"}".utf8), contentType: nil)
        #expect(bad.status == 422)
        #expect(ingest.committer.preparingRequests == 0)
        let ok = try await ingest.ingest(body: TestEvents.ndjson([UUID()]), contentType: nil)
        #expect(ok.accepted == 1)
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
