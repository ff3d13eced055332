import AsyncHTTPClient
import CXAgent
import CXCore
import CXTestSupport
import NIOCore
import NIOHTTP1
import Foundation
import GRDB
import Testing

/// Acknowledged event ids, collected from concurrent producers.
actor AckLog {
    var ids: Set<String> = []
    func add(_ new: [String]) { ids.formUnion(new) }
}

@Suite("cx-agent as a real process", .serialized)
struct AgentProcessTests {
    @Test func httpAPIAcceptsObjectsArraysAndNDJSONAndRefusesBadBodies() async throws {
        let dir = TempDir()
        let agent = try AgentProcess(dataDirectory: dir.path + "/data", extraArguments: ["--store", "store-001"])
        defer { agent.kill(SIGTERM) }
        try await agent.waitUntilListening()

        let (s1, b1, _) = try await agent.post(Array(TestEvents.json().utf8), contentType: "application/json")
        #expect(s1 == 200 && b1.contains("\"accepted\":1"))
        let array = "[" + TestEvents.json() + "," + TestEvents.json(channel: "fax") + "]"
        let (s2, b2, _) = try await agent.post(Array(array.utf8), contentType: "application/json")
        #expect(s2 == 200 && b2.contains("\"index\":1,\"status\":\"rejected\"") && b2.contains("channel"))
        let (s3, b3, _) = try await agent.post(TestEvents.ndjson([UUID(), UUID(), UUID()]))
        #expect(s3 == 200 && b3.contains("\"accepted\":3"))
        let (s4, b4, _) = try await agent.post(Array("this is not json".utf8), contentType: "text/plain")
        #expect(s4 == 400 && b4.contains("malformed_json"))
        let (s5, _, _) = try await agent.post([UInt8](repeating: UInt8(ascii: " "), count: 9 * 1024 * 1024))
        #expect(s5 == 413)
        let (s6, b6, _) = try await agent.post(Array(TestEvents.json(store: "store-002").utf8))
        #expect(s6 == 422 && b6.contains("store_id"))
        let (s7, status) = try await agent.get("/v1/status")
        #expect(s7 == 200 && status.contains("\"last_seq\":5"))
    }

    @Test func quotaBackPressureAnswers503WithRetryAfter() async throws {
        let dir = TempDir()
        let agent = try AgentProcess(
            dataDirectory: dir.path + "/data", environment: ["CX_AGENT_QUOTA_BYTES": "1048576"])
        defer { agent.kill(SIGTERM) }
        try await agent.waitUntilListening()
        let text = String(repeating: "x", count: 2000)
        var sawRefusal = false
        for _ in 0..<100 {
            let body = (0..<20).map { _ in TestEvents.json(text: text) }.joined(separator: "\n")
            let (status, answer, headers) = try await agent.post(Array(body.utf8))
            if status == 503 {
                #expect(headers["retry-after"].first == "5")
                #expect(answer.contains("buffer_full"))
                sawRefusal = true
                break
            }
            #expect(status == 200)
        }
        #expect(sawRefusal)
        let (_, status) = try await agent.get("/v1/status")
        #expect(status.contains("\"refused_requests_total\":1"))
    }

    /// SIGKILL during concurrent ingest, 20+ times; every acknowledged event survives exactly once, gap-free.
    @Test func sigkillAtRandomPointsLosesNoAcknowledgedEvent() async throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let acked = AckLog()
        var rng = SystemRandomNumberGenerator()
        let rounds = 22
        for round in 0..<rounds {
            let agent = try AgentProcess(dataDirectory: data)
            try await agent.waitUntilListening()
            let killAfter = Duration.milliseconds(Int.random(in: 30...400, using: &rng))
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        while true {
                            let ids = (0..<Int.random(in: 1...40)).map { _ in UUID() }
                            guard let (status, body, _) = try? await agent.post(TestEvents.ndjson(ids)) else { return }
                            guard status == 200 else { return }
                            // A 200 means every accepted or duplicate event is committed.
                            let n =
                                body.components(separatedBy: "\"status\":\"accepted\"").count - 1
                                + body.components(separatedBy: "\"status\":\"duplicate\"").count - 1
                            if n == ids.count { await acked.add(ids.map { $0.uuidString.lowercased() }) }
                        }
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: killAfter)
                    agent.kill(SIGKILL)
                }
            }
            #expect(!agent.process.isRunning, "round \(round)")
        }
        let ackedIDs = await acked.ids
        #expect(ackedIDs.count > 100)

        let queue = try DatabaseQueue(path: data + "/buffer.sqlite")
        let (count, distinct, minSeq, maxSeq, stored) = try await queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events")!,
                try Int.fetchOne(db, sql: "SELECT count(DISTINCT event_id) FROM events")!,
                try Int.fetchOne(db, sql: "SELECT min(seq) FROM events")!,
                try Int.fetchOne(db, sql: "SELECT max(seq) FROM events")!,
                Set(
                    try Data.fetchAll(db, sql: "SELECT event_id FROM events").map {
                        UUID(bytes: Array($0)).uuidString.lowercased()
                    })
            )
        }
        #expect(count == distinct, "an event is stored twice")
        #expect(minSeq == 1 && maxSeq == count, "seq has a gap: \(minSeq)...\(maxSeq) for \(count) rows")
        let missing = ackedIDs.subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) acknowledged events are missing")
    }

    /// Without an api_token the API answers local programs only: a web page in the box's browser (an Origin header)
    /// or a page whose name resolves to 127.0.0.1 (a Host that is not loopback) is refused.
    @Test func webPagesCannotUseTheLoopbackAPI() async throws {
        let dir = TempDir()
        let agent = try AgentProcess(dataDirectory: dir.path + "/a")
        try await agent.waitUntilListening()
        func post(_ headers: [(String, String)]) async throws -> (Int, String) {
            var request = HTTPClientRequest(url: agent.baseURL + "/v1/events")
            request.method = .POST
            request.headers.add(name: "content-type", value: "text/plain")
            for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: TestEvents.ndjson([UUID()])))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
        }
        let fromPage = try await post([("origin", "http://evil.example")])
        #expect(fromPage.0 == 403 && fromPage.1.contains("cross_site_refused"), "\(fromPage)")
        let rebound = try await post([("host", "evil.example:\(agent.port)")])
        #expect(rebound.0 == 403 && rebound.1.contains("host_refused"), "\(rebound)")
        let local = try await post([])
        #expect(local.0 == 200, "\(local)")
        let health = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: agent.baseURL + "/v1/health"), timeout: .seconds(10))
        #expect(health.status.code == 200)
        agent.kill(SIGTERM)
    }

    @Test func corruptedTailDoesNotStopTheAgent() async throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        do {
            let store = try BufferStore.open(directory: data, quotaBytes: 1 << 30, logger: testLogger)
            let ingest = IngestService(store: store, configuration: AgentConfiguration(), enricher: nil)
            for _ in 0..<6 {
                _ = try await ingest.ingest(body: TestEvents.ndjson((0..<500).map { _ in UUID() }), contentType: nil)
            }
            try store.close()
        }
        let path = data + "/buffer.sqlite"
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size * 7 / 10))
        try handle.close()

        let agent = try AgentProcess(dataDirectory: data)
        defer { agent.kill(SIGTERM) }
        try await agent.waitUntilListening()
        #expect(agent.stderr.contains("buffer recovered into a new epoch"))
        let (_, status) = try await agent.get("/v1/status")
        #expect(status.contains("\"lost_in_recovery_total\":") && !status.contains("\"lost_in_recovery_total\":0"))
        let (code, _, _) = try await agent.post(TestEvents.ndjson([UUID()]))
        #expect(code == 200)
    }

    @Test func ingestCommandReadsJSONLinesDirectlyOrThroughTheRunningAgent() async throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let file = dir.path + "/events.jsonl"
        let ids = (0..<30).map { _ in UUID() }
        // a blank line at 11: the bad event is line 32 of the file
        let lines = ids.map { TestEvents.json(id: $0) }
        try ((lines[..<10] + [""] + lines[10...]).joined(separator: "\n") + "\n{\"bad\": true}\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let direct = try Subprocess.run(product: "cx-agent", ["ingest", "--data-dir", data, "--chunk", "7", file])
        #expect(direct.status == 2)
        #expect(direct.stdout.contains("\"accepted\":30") && direct.stdout.contains("\"rejected\":1"))
        #expect(direct.stderr.contains("rejected: line 32: "), "\(direct.stderr)")

        let agent = try AgentProcess(dataDirectory: data)
        defer { agent.kill(SIGTERM) }
        try await agent.waitUntilListening()
        let viaAgent = try Subprocess.run(
            product: "cx-agent", ["ingest", "--data-dir", data, "--listen-port", "\(agent.port)", file])
        #expect(viaAgent.stdout.contains("\"duplicates\":30"))
    }

    /// A request the agent refuses whole (here a line over its body limit) ends the run with its reason and what was
    /// stored before it, not with the command's usage.
    @Test func ingestCommandReportsARefusedRequest() async throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let file = dir.path + "/events.jsonl"
        let long = TestEvents.json(text: String(repeating: "x", count: 2000))
        try ([TestEvents.json(id: UUID()), long].joined(separator: "\n") + "\n").write(
            toFile: file, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(dataDirectory: data, environment: ["CX_AGENT_MAX_BODY_BYTES": "1024"])
        defer { agent.kill(SIGTERM) }
        try await agent.waitUntilListening()
        let run = try Subprocess.run(
            product: "cx-agent", ["ingest", "--data-dir", data, "--listen-port", "\(agent.port)", "--chunk", "1", file])
        #expect(run.status == 3, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("error: the agent refused lines 2-2 (413 body_too_large): "), "\(run.stderr)")
        #expect(!run.stderr.contains("USAGE"))
        #expect(run.stdout.contains("\"accepted\":1"))
    }

    /// A line that is not UTF-8 is refused by number, as the agent's API refuses such bytes (it was stored with
    /// U+FFFD); an input that cannot be read is an error, not a trap.
    @Test func ingestCommandRefusesBytesThatAreNotUTF8AndUnreadableInput() async throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let file = dir.path + "/events.jsonl"
        var bytes = Array((TestEvents.json(id: UUID()) + "\n").utf8)
        bytes += Array(TestEvents.json(text: "caf\u{E9}").utf8).map { $0 == 0xC3 ? 0xFF : $0 } + [0x0A]
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let run = try Subprocess.run(product: "cx-agent", ["ingest", "--data-dir", data, file])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("rejected: line 2: not UTF-8"), "\(run.stderr)")
        #expect(run.stdout.contains("\"accepted\":1") && run.stdout.contains("\"rejected\":1"), "\(run.stdout)")
        let directory = try Subprocess.run(product: "cx-agent", ["ingest", "--data-dir", data, dir.path])
        #expect(directory.status == 1, "\(directory.stderr)")
        #expect(directory.stderr.hasPrefix("error: cannot read '\(dir.path)'"), "\(directory.stderr)")
    }

    /// A misspelt key in an alert change ("nota") moved the alert on and dropped the note without a word.
    @Test func anAlertChangeWithAnUnknownKeyIsRefused() async throws {
        let dir = TempDir()
        let agent = try AgentProcess(dataDirectory: dir.path + "/a")
        try await agent.waitUntilListening()
        let line = InsightWiringTests.line(UUID(), text: "fine", score: 0, customer: "c-1")
        let (status, text, _) = try await agent.post(Array(line.utf8))
        #expect(status == 200, "\(text)")
        let (_, listed) = try await agent.get("/v1/alerts")
        let alert = try #require(try JSONDecoder().decode([StoredAlert].self, from: Data(listed.utf8)).first)
        var request = HTTPClientRequest(url: agent.baseURL + "/v1/alerts/\(alert.alertID)/acknowledge")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: "{\"nota\": \"called back\"}"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status.code == 400)
        #expect(body.contains("unknown key 'nota'"), "\(body)")
        let (_, after) = try await agent.get("/v1/alerts")
        let unchanged = try JSONDecoder().decode([StoredAlert].self, from: Data(after.utf8))
        #expect(unchanged.first { $0.alertID == alert.alertID }?.status == "open")
        // the list is bounded: `limit` (default 500), newest first
        let complaint = InsightWiringTests.line(UUID(), text: "Still waiting for my refund", score: 9, customer: "c-2")
        #expect(try await agent.post(Array(complaint.utf8)).0 == 200)
        let (_, all) = try await agent.get("/v1/alerts")
        let listedAll = try JSONDecoder().decode([StoredAlert].self, from: Data(all.utf8))
        #expect(listedAll.count >= 2)
        let (_, one) = try await agent.get("/v1/alerts?limit=1")
        #expect(
            try JSONDecoder().decode([StoredAlert].self, from: Data(one.utf8)).map(\.alertID) == [listedAll[0].alertID])
        #expect(try await agent.get("/v1/alerts?limit=0").0 == 400)
        #expect(try await agent.get("/v1/alerts?limit=many").0 == 400)
        agent.kill(SIGTERM)
    }

    /// The CLI found a running agent only at the configured port: an agent started on port 0 (or with another
    /// port) gave a raw "connection refused". The agent writes the address it listens on into its data directory.
    @Test func theCLIFindsAnAgentListeningOnAnyPort() async throws {
        let dir = TempDir()
        let data = dir.path + "/a"
        let agent = try AgentProcess(dataDirectory: data)
        try await agent.waitUntilListening()
        let address = try String(contentsOfFile: data + "/listen-address", encoding: .utf8)
        #expect(address == "127.0.0.1:\(agent.port)\n")
        // the data directory the running agent created (its lock first) is its user's only
        let mode = try FileManager.default.attributesOfItem(atPath: data)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let status = try Subprocess.run(product: "cx-agent", ["status", "--data-dir", data])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("\"agent_id\""), "\(status.stdout)")
        agent.kill(SIGTERM)
    }

    /// `sample --count=-1` trapped (a range with its bounds reversed): a usage error now, before any output.
    @Test func sampleRefusesANegativeCount() throws {
        let run = try Subprocess.run(product: "cx-agent", ["sample", "--count=-1"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("--count must not be negative"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }
}
