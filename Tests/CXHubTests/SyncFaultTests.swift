import AsyncHTTPClient
import CXAgent
import CXCore
import CXInsight
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import SwiftProtobuf
import Synchronization
import Testing

struct AlertSnapshot: Hashable, CustomStringConvertible {
    var status: String
    var note: String?
    var description: String { "\(status)/\(note ?? "-")" }
}

/// A real, enrolled `cx-agent run` process that can be killed and restarted on its data directory.
final class SyncingAgent: @unchecked Sendable {
    let store: String
    let dataDirectory: String
    let environment: [String: String]
    /// The current run, once started.
    private(set) var agent: AgentProcess?
    private(set) var starts = 0

    init(store: String, dataDirectory: String, hubURL: String, hub: HubProcess, environment: [String: String]) throws {
        self.store = store
        self.dataDirectory = dataDirectory
        // Enrolled directly with the hub; syncs through `hubURL` (a proxy, say) by configuration.
        self.environment = environment.merging(["CX_AGENT_HUB_URL": hubURL]) { $1 }
        let token = try hub.enrollmentToken(store: store, device: "\(store)-kiosk-1")
        let enrolled = try Subprocess.run(
            product: "cx-agent",
            ["enroll", "--data-dir", dataDirectory, "--hub", hub.url, "--token", token, "--ca", hub.caPath])
        guard enrolled.status == 0 else { throw TestFailure("cx-agent enroll failed: \(enrolled.stderr)") }
    }

    /// Starts the agent (again) and waits until it listens; each run logs to files of its own.
    func start() async throws {
        starts += 1
        let agent = try AgentProcess(
            dataDirectory: dataDirectory, extraArguments: ["--log-level", "info"], environment: environment,
            logPrefix: dataDirectory + ".\(starts)")
        self.agent = agent
        try await agent.waitUntilListening()
    }

    var port: Int { agent?.port ?? 0 }
    var stderr: String { agent?.stderr ?? "" }

    func kill(_ signal: Int32) {
        agent?.kill(signal)
    }

    /// Posts NDJSON events; returns the ids the agent acknowledged (accepted or duplicate).
    func ingest(_ lines: [(UUID, String)]) async throws -> Set<UUID> {
        guard let agent else { throw TestFailure("ingest before the agent started") }
        let (status, body, _) = try await agent.post(Array(lines.map(\.1).joined(separator: "\n").utf8))
        guard status == 200 else {
            throw TestFailure("ingest answered \(status): \(body)")
        }
        struct Reply: Decodable {
            struct Result: Decodable {
                var index: Int
                var status: String
            }
            var results: [Result]
        }
        let reply = try JSONDecoder().decode(Reply.self, from: Data(body.utf8))
        return Set(reply.results.filter { $0.status != "rejected" }.map { lines[$0.index].0 })
    }

    func syncStatus() async throws -> SyncSnapshot {
        guard let agent else { throw TestFailure("sync status before the agent started") }
        let (_, body) = try await agent.get("/v1/sync")
        struct Body: Decodable { var sync: SyncSnapshot }
        return try JSONDecoder().decode(Body.self, from: Data(body.utf8)).sync
    }

    /// Alert id → status and note, as the agent holds them.
    func alerts() async throws -> [String: AlertSnapshot] {
        guard let agent else { throw TestFailure("alerts before the agent started") }
        let (_, body) = try await agent.get("/v1/alerts")
        return Dictionary(
            uniqueKeysWithValues: try JSONDecoder().decode([StoredAlert].self, from: Data(body.utf8))
                .map { ($0.alertID, AlertSnapshot(status: $0.status, note: $0.note)) })
    }

    /// Acknowledges or resolves an alert on the store's screen, with a note.
    func change(alert id: String, to action: String, note: String) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/alerts/\(id)/\(action)")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: "{\"note\":\"\(note)\"}"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw TestFailure("\(action) \(id): \(response.status)") }
    }

    static func events(store: String, count: Int, customerPool: Int = 50) -> [(UUID, String)] {
        let channels = ["kiosk", "pos", "web", "mobile", "chat"]
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return (0..<count).map { i in
            let channel = channels[i % channels.count]
            return line(
                store: store,
                [
                    "device_id": "\(store)-\(channel)", "channel": channel, "ts": now - Int64(i), "type": "survey_nps",
                    "score": i % 11, "customer_id": "cust-\(i % customerPool)", "text": "visit \(i) went fine",
                ])
        }
    }

    /// One NDJSON event line for `store` with a fresh `event_id`; `fields` are JSON-encoded as given.
    static func line(store: String, _ fields: [String: Any]) -> (UUID, String) {
        let id = UUID()
        var object = fields
        object["event_id"] = id.uuidString.lowercased()
        object["store_id"] = store
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return (id, String(decoding: data, as: UTF8.self))
    }

    /// Waits until the outbox is empty (everything acknowledged by the hub), at most `timeout`.
    func waitUntilSynced(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await syncStatus().unsynced > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension ChaosProxy {
    /// A store's uplink to `hub` that misbehaves only when cut (`state.enabled`): it then answers 502.
    static func relay(to hub: HubProcess) async throws -> ChaosProxy {
        try await ChaosProxy(
            targetURL: hub.url, caPath: hub.caPath, certificate: hub.dataDirectory + "/tls/hub.pem",
            key: hub.dataDirectory + "/tls/hub.key",
            odds: ChaosProxy.Odds(dropRequest: 0, dropResponse: 0, duplicate: 0, delay: 0))
    }
}

/// The oracle: what the hub's database holds, read directly from its SQLite file.
struct HubContents {
    var eventIDs: [UUID]
    var seqsByAgent: [String: [Int64]]
    var highWaterMarks: [String: Int64]
    /// Alert id → status and note, per store.
    var alerts: [String: [String: AlertSnapshot]]

    static func read(_ hubDirectory: String) throws -> HubContents {
        return try readOnlyDatabase(hubDirectory + "/hub.sqlite").read { db in
            var ids: [UUID] = []
            var seqs: [String: [Int64]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT event_id, agent_id, seq FROM events ORDER BY agent_id, seq") {
                let bytes = [UInt8](row[0] as Data)
                ids.append(UUID(uuid: bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }))
                seqs[row[1], default: []].append(row[2])
            }
            var hwm: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT agent_id, max(hwm) FROM high_water_marks GROUP BY agent_id") {
                hwm[row[0]] = row[1]
            }
            var alerts: [String: [String: AlertSnapshot]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT store_id, alert_id, status, note FROM alerts") {
                let status = AlertStatus(rawValue: row[2]).map(\.description) ?? "?"
                alerts[row[0], default: [:]][row[1]] = AlertSnapshot(status: status, note: row[3])
            }
            return HubContents(eventIDs: ids, seqsByAgent: seqs, highWaterMarks: hwm, alerts: alerts)
        }
    }
}

@Suite("Sync through faults, with real processes", .serialized)
struct SyncFaultTests {
    static let fastSync = [
        "CX_AGENT_SYNC_INTERVAL_MS": "50", "CX_AGENT_POLL_INTERVAL_MS": "300", "CX_AGENT_BACKOFF_INITIAL_MS": "20",
        "CX_AGENT_BACKOFF_MAX_MS": "400", "CX_AGENT_MAX_BATCH_EVENTS": "150", "CX_AGENT_REQUEST_TIMEOUT_SECONDS": "5",
    ]

    /// Three stores sync at once through a proxy that drops, duplicates, delays and reorders; agents are
    /// SIGKILLed 24 times at random points, the hub is stopped once gracefully and once with SIGKILL mid-traffic.
    /// Every acknowledged event must end at the hub exactly once, with each agent's seq contiguous.
    @Test func threeAgentsConvergeThroughChaosKillsAndHubRestarts() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let proxy = try await ChaosProxy(
            targetURL: hub.url, caPath: hub.caPath, certificate: hub.dataDirectory + "/tls/hub.pem",
            key: hub.dataDirectory + "/tls/hub.key")
        var agents: [SyncingAgent] = []
        for i in 1...3 {
            let agent = try SyncingAgent(
                store: "store-00\(i)", dataDirectory: dir.path + "/agent-\(i)", hubURL: proxy.url, hub: hub,
                environment: Self.fastSync)
            try await agent.start()
            agents.append(agent)
        }
        var acknowledged: [String: Set<UUID>] = [:]
        var kills = 0
        for round in 1...24 {
            try await withThrowingTaskGroup(of: (String, Set<UUID>).self) { group in
                for agent in agents {
                    let batch = SyncingAgent.events(store: agent.store, count: 250)
                    group.addTask { (agent.store, try await agent.ingest(batch)) }
                }
                for try await (store, ids) in group { acknowledged[store, default: []].formUnion(ids) }
            }
            // Store staff work the alerts while the chaos goes on: the status lattice and the LWW note must
            // reach the hub as the agent holds them.
            for agent in agents {
                if let open = try await agent.alerts().first(where: { $0.value.status != "resolved" }) {
                    let action = open.value.status == "open" ? "acknowledge" : "resolve"
                    try await agent.change(alert: open.key, to: action, note: "round \(round)")
                }
            }
            try await Task.sleep(for: .milliseconds(Int64.random(in: 0...250)))
            let victim = agents[round % agents.count]
            victim.kill(SIGKILL)
            // Counted only when the agent really died of the SIGKILL (not of its own accord before it).
            if let process = victim.agent?.process,
                process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
            {
                kills += 1
            }
            if round == 8 {
                hub.kill(SIGTERM)
                try await hub.restart()
            }
            if round == 16 {
                hub.kill(SIGKILL)
                try await Task.sleep(for: .milliseconds(300))
                try await hub.restart()
            }
            try await victim.start()
        }
        #expect(kills == 24, "every round killed a running agent with SIGKILL")
        let chaos = proxy.counts
        #expect(chaos.droppedRequests > 0 && chaos.droppedResponses > 0 && chaos.duplicated > 0 && chaos.delayed > 0)

        // Everything acknowledged converges, through the still-misbehaving proxy.
        let deadline = ContinuousClock.now + .seconds(180)
        var pending = agents
        while !pending.isEmpty && ContinuousClock.now < deadline {
            var still: [SyncingAgent] = []
            for agent in pending {
                let s = try await agent.syncStatus()
                if s.unsynced > 0 || s.inFlightFrom != nil { still.append(agent) }
            }
            pending = still
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(pending.isEmpty, "not converged: \(pending.map(\.store)) \(pending.last?.stderr.suffix(2000) ?? "")")

        let contents = try HubContents.read(hub.dataDirectory)
        let expected = acknowledged.values.reduce(into: Set<UUID>()) { $0.formUnion($1) }
        #expect(expected.count == 3 * 24 * 250)
        #expect(contents.eventIDs.count == Set(contents.eventIDs).count, "no event stored twice")
        let held = Set(contents.eventIDs)
        #expect(
            expected.subtracting(held).isEmpty,
            "acknowledged but missing at the hub: \(expected.subtracting(held).count)")
        #expect(
            held.subtracting(expected).isEmpty, "at the hub but never acknowledged: \(held.subtracting(expected).count)"
        )
        for agent in agents {
            let s = try await agent.syncStatus()
            let agentID = try #require(s.agentID)
            let seqs = contents.seqsByAgent[agentID] ?? []
            // Events and alert updates share the outbox's seq space: together they cover 1...last_seq.
            let localAlerts = try await agent.alerts()
            let hubAlerts = contents.alerts[agent.store] ?? [:]
            #expect(localAlerts.count > 0, "\(agent.store): detractor scores raise alerts")
            #expect(localAlerts == hubAlerts, "\(agent.store): alerts at the hub \(hubAlerts) != local \(localAlerts)")
            #expect(
                localAlerts.values.contains { $0.status != "open" && $0.note != nil }, "\(agent.store): changes made")
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $1 > $0 }, "\(agent.store): event seqs unique")
            #expect(seqs.count + localAlerts.count <= Int(s.lastSeq))
            #expect(contents.highWaterMarks[agentID] == Int64(s.lastSeq))
            #expect(s.syncedThrough == s.lastSeq)
        }
        for agent in agents { agent.kill(SIGTERM) }
        try await proxy.shutdown()
        hub.kill(SIGTERM)
    }

    /// A store offline for a while keeps buffering, then catches up once the link is back; a revoked agent's
    /// batches are refused and nothing of them is applied.
    @Test func offlineStoreCatchesUpAndRevokedAgentIsRefused() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        // The store's uplink: a relay that can be cut (it answers 502 "link down" while disabled).
        let link = try await ChaosProxy.relay(to: hub)
        let agent = try SyncingAgent(
            store: "store-009", dataDirectory: dir.path + "/agent", hubURL: link.url, hub: hub,
            environment: Self.fastSync)
        try await agent.start()
        link.state.enabled.withLock { $0 = false }
        var acknowledged = Set<UUID>()
        for _ in 0..<4 {
            acknowledged.formUnion(try await agent.ingest(SyncingAgent.events(store: agent.store, count: 500)))
        }
        try await Task.sleep(for: .seconds(1))
        let offline = try await agent.syncStatus()
        let raised = try await agent.alerts().count
        #expect(offline.unsynced == UInt64(2_000 + raised), "2,000 events and \(raised) alerts wait in the outbox")
        #expect(offline.lastError?.contains("502") == true, "\(offline.lastError ?? "no error")")
        #expect(try HubContents.read(hub.dataDirectory).eventIDs.isEmpty)
        link.state.enabled.withLock { $0 = true }
        try await agent.waitUntilSynced(timeout: .seconds(60))
        let viaCLI = try Subprocess.run(
            product: "cx-agent", ["sync-status", "--data-dir", dir.path + "/agent", "--listen-port", "\(agent.port)"])
        #expect(viaCLI.status == 0 && viaCLI.stdout.contains("\"unsynced\":0"), "\(viaCLI)")
        let held = Set(try HubContents.read(hub.dataDirectory).eventIDs)
        #expect(held.count == acknowledged.count && held == acknowledged, "\(held.count) held of \(acknowledged.count)")

        let s = try await agent.syncStatus()
        let revoked = try Subprocess.run(
            product: "cx-hub", ["agents", "revoke", "--data-dir", hub.dataDirectory, s.agentID!])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        _ = try await agent.ingest(SyncingAgent.events(store: agent.store, count: 10))
        try await Task.sleep(for: .seconds(1))
        let refused = try await agent.syncStatus()
        #expect(refused.unsynced >= 10)
        #expect(refused.lastError?.contains("revoked") == true, "\(refused.lastError ?? "")")
        #expect(try HubContents.read(hub.dataDirectory).eventIDs.count == 2_000)
        agent.kill(SIGTERM)
        try await link.shutdown()
        hub.kill(SIGTERM)
    }
    /// Raw customer identifiers never leave the store; the hub still finds a customer's timeline by the
    /// identifier, hashing it with the fleet key as the agents did.
    @Test func customerTimelineByRawIdentifierAcrossChannels() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let agent = try SyncingAgent(
            store: "store-007", dataDirectory: dir.path + "/agent", hubURL: hub.url, hub: hub,
            environment: Self.fastSync)
        try await agent.start()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let lines = [("kiosk", "Long queue at the kiosk"), ("chat", "Where is my order?"), ("pos", "")].enumerated()
            .map { i, v in
                SyncingAgent.line(
                    store: "store-007",
                    [
                        "device_id": "d-\(v.0)", "channel": v.0, "ts": now + Int64(i), "type": "feedback",
                        "customer_id": "Jane.Doe@Example.com", "text": v.1,
                    ])
            }
        #expect(try await agent.ingest(lines).count == 3)
        try await agent.waitUntilSynced()
        let client = try hub.client()
        let (status, body) = try await hub.get(client, "/v1/customers/jane.doe@example.com/timeline")
        try await client.shutdown()
        #expect(status == 200)
        #expect(!body.lowercased().contains("jane"), "the hub holds no raw identifier: \(body)")
        struct Entry: Decodable { var channel: String }
        let entries = try JSONDecoder().decode([Entry].self, from: Data(body.utf8))
        #expect(entries.map(\.channel) == ["kiosk", "chat", "pos"])
        // The hub holds each event's enrichment with the version of the model that scored it (agents store the
        // version once per seq range and put it back when they build the batch).
        let versions = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read {
            db in
            try Data.fetchAll(db, sql: "SELECT extra FROM events WHERE extra IS NOT NULL").map {
                try Cxsync_V1_Event(serializedBytes: [UInt8]($0)).enrichment.modelVersion
            }
        }
        #expect(versions.count == 3 && versions.allSatisfy { $0 == InsightEngine.modelVersion }, "\(versions)")
        agent.kill(SIGTERM)
        hub.kill(SIGTERM)
    }
}

@Suite("Configuration from the hub")
struct HubConfigurationTests {
    @Test func settingsSetAtTheHubChangeHowStoresAlert() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let agent = try SyncingAgent(
            store: "store-011", dataDirectory: dir.path + "/agent", hubURL: hub.url, hub: hub,
            environment: SyncFaultTests.fastSync)
        try await agent.start()
        let texts = [
            "The queue was endless and the cashier was rude to my mother, disgraceful",
            "Refund still missing after three weeks, nobody answers the phone, awful",
            "Broken kiosk ate my card and the manager laughed, terrible experience",
            "Cold food, dirty tables, and the staff ignored us completely, horrible",
            "Delivery lost twice, app crashes at checkout, worst shop in town",
            "Charged for items I never bought and the supervisor shouted at me, appalling",
        ]
        var next = 0
        func angry(_ n: Int) -> [(UUID, String)] {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            defer { next += n }
            return (0..<n).map { i in
                SyncingAgent.line(
                    store: "store-011",
                    [
                        "device_id": "k", "channel": "kiosk", "ts": now, "type": "feedback",
                        "text": texts[(next + i) % texts.count],
                    ])
            }
        }
        func veryNegative() async throws -> Int {
            try await agent.alerts().keys.filter { $0.contains(".very-negative.") }.count
        }
        func set(_ name: String, _ value: String) async throws {
            let client = try hub.client()
            var put = HTTPClientRequest(url: hub.url + "/v1/config/*/\(name)")
            put.method = .PUT
            put.headers.add(name: "authorization", value: "Bearer \(hub.adminToken)")
            put.headers.add(name: "content-type", value: "application/json")
            put.body = .bytes(ByteBuffer(string: "{\"value\":\"\(value)\"}"))
            let answer = try await client.execute(put, timeout: .seconds(10))
            try await client.shutdown()
            #expect(answer.status == .ok)
            // The setting reaches the store with the next acknowledgement (an idle agent polls).
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let response = try await HTTPClient.shared.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(agent.port)/v1/config"), timeout: .seconds(5))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                if body.contains("\"\(name)\"") && body.contains(value) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .milliseconds(300))
        }

        // Default rules: a 15-minute cooldown per store, so three angry customers raise one such alert.
        _ = try await agent.ingest(angry(3))
        #expect(try await veryNegative() == 1)

        // No cooldown, set at the hub: every angry customer now raises one.
        try await set("alert_cooldown_seconds", "0")
        _ = try await agent.ingest(angry(3))
        #expect(try await veryNegative() == 4, "the hub's cooldown setting took effect")

        // Every rule disabled at the hub: nothing more is raised.
        try await set("alert_rules_disabled", AlertRule.defaults.map(\.id).joined(separator: ","))
        let before = try await agent.alerts().count
        _ = try await agent.ingest(angry(3))
        #expect(try await agent.alerts().count == before, "every rule is disabled from the hub")
        agent.kill(SIGTERM)
        hub.kill(SIGTERM)
    }
}

@Suite("Erasure")
struct ErasureTests {
    /// `cx erase` at the hub deletes the customer there, reaches the store, deletes its synced local copies,
    /// and events of the customer buffered offline are dropped when they arrive. Without enrichment the agent stores
    /// the identifier itself (and sends only its keyed hash), and the tombstone, which holds only the hash, finds it
    /// all the same.
    @Test(arguments: [true, false])
    func erasureReachesStoresAndLateEventsAreDropped(enriched: Bool) async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let link = try await ChaosProxy.relay(to: hub)
        let agent = try SyncingAgent(
            store: "store-021", dataDirectory: dir.path + "/agent", hubURL: link.url, hub: hub,
            environment: SyncFaultTests.fastSync.merging(["CX_AGENT_ENRICHMENT_ENABLED": "\(enriched)"]) { $1 })
        try await agent.start()
        func events(_ customer: String, _ n: Int) -> [(UUID, String)] {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            return (0..<n).map { i in
                SyncingAgent.line(
                    store: "store-021",
                    [
                        "device_id": "pos-1", "channel": "pos", "ts": now + Int64(i), "type": "pos_transaction",
                        "amount": 12.5, "currency": "EUR", "customer_id": customer,
                    ])
            }
        }
        _ = try await agent.ingest(events("erase.me@example.com", 4) + events("keep.me@example.com", 3))
        try await agent.waitUntilSynced()
        let key = try #require(try HubContents.customerKeys(hub.dataDirectory).first { $0.value == 4 }?.key)
        #expect(key == (try Self.keyedHash("erase.me@example.com", agentDirectory: dir.path + "/agent")))
        // the store holds them too; without enrichment under the identifier itself
        let local = enriched ? key : "erase.me@example.com"
        #expect(try Self.localEvents(of: local, directory: dir.path + "/agent") == 4)

        // The store goes offline and sells to the customer again before the erasure reaches it.
        link.state.enabled.withLock { $0 = false }
        _ = try await agent.ingest(events("erase.me@example.com", 2))
        let environment = [
            "CX_HUB_URL": hub.url, "CX_TOKEN": hub.adminToken, "CX_CA_FILE": hub.caPath,
            "CX_CONFIG": dir.path + "/cx.json",
        ]
        let refused = try Subprocess.run(
            product: "cx", ["erase", "erase.me@example.com"], environment: environment)
        #expect(refused.status != 0 && refused.stderr.contains("--yes"))
        let erased = try Subprocess.run(
            product: "cx", ["erase", "erase.me@example.com", "--yes"], environment: environment)
        #expect(erased.status == 0, "\(erased.stderr)")
        #expect(erased.stdout.contains("4 events deleted"), "\(erased.stdout)")
        #expect(try HubContents.customerKeys(hub.dataDirectory)[key] == nil)

        link.state.enabled.withLock { $0 = true }
        try await agent.waitUntilSynced()
        // The events sold offline arrived after the tombstone: dropped. The other customer is untouched.
        try await Task.sleep(for: .milliseconds(500))
        let keys = try HubContents.customerKeys(hub.dataDirectory)
        #expect(keys[key] == nil)
        #expect(keys.values.contains(3))
        // The store deleted its synced copies once the erasure came down.
        let deadline = ContinuousClock.now + .seconds(20)
        var copies = -1
        while ContinuousClock.now < deadline {
            copies = try Self.localEvents(of: local, directory: dir.path + "/agent")
            if copies == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(copies == 0, "\(copies) local copies of the erased customer remain")
        agent.kill(SIGTERM)
        try await link.shutdown()
        hub.kill(SIGTERM)
    }

    /// The keyed hash of a customer identifier with the fleet key the agent in `agentDirectory` enrolled with.
    static func keyedHash(_ identifier: String, agentDirectory: String) throws -> String {
        let credentials = try #require(try AgentCredentials.load(directory: agentDirectory))
        let fleetKey = try #require(EventEnricher.enrolledFleetKey(credentials))
        return try #require(try CustomerIdentifierHasher(fleetKey: fleetKey).hash(identifier))
    }

    /// An agent without enrichment (diagnostics only) keeps its rows as posted, but the hub must never hold raw
    /// personal data: the rows are masked and their identifiers hashed before they leave the box.
    @Test("an agent without enrichment masks text and attributes and hashes identifiers before they reach the hub")
    func rowsStoredWithoutEnrichmentLeaveMasked() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let agent = try SyncingAgent(
            store: "store-031", dataDirectory: dir.path + "/agent", hubURL: hub.url, hub: hub,
            environment: SyncFaultTests.fastSync.merging(["CX_AGENT_ENRICHMENT_ENABLED": "false"]) { $1 })
        try await agent.start()
        let email = "jane.doe@example.com"
        _ = try await agent.ingest([
            SyncingAgent.line(
                store: "store-031",
                [
                    "device_id": "kiosk-1", "channel": "kiosk", "type": "feedback",
                    "ts": Int64(Date().timeIntervalSince1970 * 1000), "customer_id": email,
                    "text": "call +44 20 7946 0958 or mail \(email) about my refund",
                    "attributes": ["receipt_email": email, "lane": "3"],
                ])
        ])
        try await agent.waitUntilSynced()
        let local = try await readOnlyDatabase(dir.path + "/agent/buffer.sqlite").read {
            try Data.fetchAll($0, sql: "SELECT payload FROM events")
        }
        #expect(local.count == 1 && String(decoding: local[0], as: UTF8.self).contains(email), "stored as posted")

        let row = try #require(
            try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read {
                try Row.fetchOne($0, sql: "SELECT customer_id, text, extra FROM events")
            })
        #expect(row["text"] as String? == "call [PHONE] or mail [EMAIL] about my refund")
        #expect(row["customer_id"] as String? == (try Self.keyedHash(email, agentDirectory: dir.path + "/agent")))
        let extra = try Cxsync_V1_Event(serializedBytes: [UInt8](try #require(row["extra"] as Data?)))
        let attributes = Dictionary(uniqueKeysWithValues: extra.attributes.map { ($0.key, $0.value) })
        #expect(attributes == ["receipt_email": "[EMAIL]", "lane": "3"])
        #expect(!extra.hasEnrichment, "masked, not analysed")
        agent.kill(SIGTERM)
        hub.kill(SIGTERM)
    }

    /// An agent without `store_id` takes any store's events before it is enrolled; once enrolled for one store, the
    /// hub refuses a batch holding another's (store_mismatch) and the agent re-sent it for ever. Now such events stay
    /// out of its batches, logged, and the store's own events sync.
    @Test("events buffered before enrollment for another store do not stall the enrolled store's sync")
    func otherStoresEventsDoNotStallSync() async throws {
        let dir = TempDir()
        let data = dir.path + "/agent"
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        do {
            let unenrolled = try AgentProcess(dataDirectory: data)
            try await unenrolled.waitUntilListening()
            let lines =
                SyncingAgent.events(store: "store-x", count: 3) + SyncingAgent.events(store: "store-041", count: 4)
                + SyncingAgent.events(store: "store-x", count: 2)
            let (status, body, _) = try await unenrolled.post(Array(lines.map(\.1).joined(separator: "\n").utf8))
            #expect(status == 200, "\(body)")
            unenrolled.kill(SIGTERM)
        }
        let agent = try SyncingAgent(
            store: "store-041", dataDirectory: data, hubURL: hub.url, hub: hub, environment: SyncFaultTests.fastSync)
        try await agent.start()
        _ = try await agent.ingest(SyncingAgent.events(store: "store-041", count: 2))
        try await agent.waitUntilSynced()
        #expect(try await agent.syncStatus().unsynced == 0, "\(agent.stderr.suffix(3000))")
        let stores = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read {
            try Row.fetchAll($0, sql: "SELECT store_id, count(*) AS n FROM events GROUP BY store_id").map {
                "\($0["store_id"] as String): \($0["n"] as Int)"
            }
        }
        #expect(stores == ["store-041: 6"])
        #expect(
            agent.stderr.contains("events and alerts of another store are not sent"), "\(agent.stderr.suffix(2000))")
        agent.kill(SIGTERM)
        hub.kill(SIGTERM)
    }

    /// A box that booted with its clock years ahead stamped its events then; once NTP set the clock right, the hub
    /// refused every batch (clock_drift: its HLCs are beyond the allowed drift) and the agent re-sent the same frame
    /// until that date. Now the saved clock starts again from the wall clock, and rows stamped ahead are sent
    /// stamped now.
    @Test("events stamped while the box's clock ran years ahead sync once the clock is right")
    func eventsStampedByAClockAheadSync() async throws {
        let dir = TempDir()
        let data = dir.path + "/agent"
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let link = try await ChaosProxy.relay(to: hub)
        let agent = try SyncingAgent(
            store: "store-043", dataDirectory: data, hubURL: link.url, hub: hub, environment: SyncFaultTests.fastSync)
        link.state.enabled.withLock { $0 = false }
        try await agent.start()
        // scores 0 to 4: an NPS detractor, which raises an alert
        _ = try await agent.ingest(SyncingAgent.events(store: "store-043", count: 5))
        let alertID = try await Self.alertIDs(agent).first
        let id = try #require(alertID, "\(agent.stderr.suffix(2000))")
        #expect(try await Self.changeAlert(agent, id, "acknowledge", note: "called the customer") == 200)
        agent.kill(SIGTERM)
        // The rows, the alert, its note and the saved clock as a clock in 2035 left them.
        let ahead = Int64(HLCTimestamp(wallMillis: 2_060_000_000_000, counter: 3).rawValue)
        let buffer = try DatabaseQueue(path: data + "/buffer.sqlite")
        try await buffer.write { db in
            try db.execute(sql: "UPDATE events SET hlc = ?", arguments: [ahead])
            try db.execute(sql: "UPDATE counters SET value = ? WHERE name = 'hlc_last'", arguments: [ahead])
            try db.execute(
                sql: "UPDATE alert_outbox SET raised_hlc = ? WHERE raised_hlc IS NOT NULL", arguments: [ahead])
            try db.execute(sql: "UPDATE alerts SET raised_hlc = ?, note_hlc = ?", arguments: [ahead, ahead])
        }
        try buffer.close()
        link.state.enabled.withLock { $0 = true }
        try await agent.start()
        _ = try await agent.ingest(SyncingAgent.events(store: "store-043", count: 2))
        // a note written after the note stamped ahead: it follows the wall clock, not 2035's stamp
        #expect(try await Self.changeAlert(agent, id, "resolve", note: "refund sent") == 200)
        try await agent.waitUntilSynced()
        #expect(try await agent.syncStatus().unsynced == 0, "\(agent.stderr.suffix(2000))")
        let (events, latest) = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
                try Int64.fetchOne(db, sql: "SELECT max(hlc) FROM events") ?? 0
            )
        }
        #expect(events == 7)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(HLCTimestamp(rawValue: UInt64(latest)).wallMillis < now + 60_000)
        let alert = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read { db in
            try Row.fetchOne(
                db, sql: "SELECT note, raised_hlc, note_hlc FROM alerts WHERE alert_id = ?", arguments: [id])
        }
        let row = try #require(alert)
        #expect(row["note"] as String? == "refund sent")
        for column in ["raised_hlc", "note_hlc"] {
            #expect(HLCTimestamp(rawValue: UInt64(bitPattern: row[column] as Int64)).wallMillis < now + 60_000)
        }
        // the events stored after the restart carry the wall clock's time, not 2035's
        agent.kill(SIGTERM)
        let stored = try await readOnlyDatabase(data + "/buffer.sqlite").read { db in
            try Int64.fetchAll(db, sql: "SELECT hlc FROM events ORDER BY seq DESC LIMIT 2")
        }
        #expect(stored.count == 2)
        #expect(stored.allSatisfy { HLCTimestamp(rawValue: UInt64($0)).wallMillis < now + 60_000 })
        // and the store's own copy of the later note too, so that a note from the hub can still replace it
        let noteHLC = try await readOnlyDatabase(data + "/buffer.sqlite").read { db in
            try Int64.fetchOne(db, sql: "SELECT note_hlc FROM alerts WHERE alert_id = ?", arguments: [id])
        }
        #expect(HLCTimestamp(rawValue: UInt64(bitPattern: try #require(noteHLC))).wallMillis < now + 60_000)
        try await link.shutdown()
        hub.kill(SIGTERM)
    }

    /// A batch sealed before an outage carried its old send time, which the hub read as a clock that far behind:
    /// it flagged the box as skewed and moved every HLC of the batch by the outage, so a store's note from before
    /// the outage beat the notes CX leads wrote during it. The agent now rebuilds a batch older than its frame age.
    @Test("a batch sealed before an outage is rebuilt, so the hub does not take the outage for clock skew")
    func aBatchSealedBeforeAnOutageIsNotTakenForSkew() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(
            dataDirectory: dir.path + "/hub", environment: ["CX_HUB_SKEW_THRESHOLD_SECONDS": "2"])
        let link = try await ChaosProxy.relay(to: hub)
        let agent = try SyncingAgent(
            store: "store-051", dataDirectory: dir.path + "/agent", hubURL: link.url, hub: hub,
            environment: SyncFaultTests.fastSync.merging(["CX_AGENT_MAX_FRAME_AGE_SECONDS": "1"]) { $1 })
        try await agent.start()
        // the agent has learned the hub's mark (its first poll); then the link goes down
        try await agent.waitUntilSynced()
        try await Task.sleep(for: .milliseconds(500))
        link.state.enabled.withLock { $0 = false }
        _ = try await agent.ingest(SyncingAgent.events(store: "store-051", count: 5))
        // the batch is sealed and posted into the cut link, then the outage lasts far longer than the skew threshold
        // (and than what a loaded machine's delays between sealing and merging add to the offset the hub measures)
        let outage: Int64 = 30_000
        try await Task.sleep(for: .milliseconds(outage))
        link.state.enabled.withLock { $0 = true }
        try await agent.waitUntilSynced()
        #expect(try await agent.syncStatus().unsynced == 0, "\(agent.stderr.suffix(2000))")
        agent.kill(SIGTERM)
        let hubHLCs = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read { db in
            try Int64.fetchAll(db, sql: "SELECT hlc FROM events ORDER BY hlc")
        }
        let agentHLCs = try await readOnlyDatabase(dir.path + "/agent/buffer.sqlite").read { db in
            try Int64.fetchAll(db, sql: "SELECT hlc FROM events ORDER BY hlc")
        }
        #expect(hubHLCs.count == 5 && agentHLCs.count == 5)
        // Moved by the outage, an HLC would be 30 s ahead; a loaded machine may still add a few seconds of its own.
        for (hub, local) in zip(hubHLCs, agentHLCs) {
            let moved =
                HLCTimestamp(rawValue: UInt64(hub)).wallMillis - HLCTimestamp(rawValue: UInt64(local)).wallMillis
            #expect(moved < outage / 2, "the hub moved an HLC by \(moved) ms")
        }
        try await link.shutdown()
        hub.kill(SIGTERM)
    }

    /// The README's recovery path "the hub was restored from a backup, the agent resends" stalled for good when an
    /// alert had been raised since the backup: the agent deletes an alert's outbox row once the hub acknowledges it,
    /// and the rewound batch stopped at that hole. Seqs the hub acknowledged once and the agent no longer holds are
    /// now skipped inside the batch's range.
    @Test("an agent resends to a hub restored from a backup, past the alert updates it no longer holds")
    func aHubRestoredFromABackupGetsTheEventsAgain() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let agent = try SyncingAgent(
            store: "store-061", dataDirectory: dir.path + "/agent", hubURL: hub.url, hub: hub,
            environment: SyncFaultTests.fastSync)
        try await agent.start()
        _ = try await agent.ingest(SyncingAgent.events(store: "store-061", count: 10))
        try await agent.waitUntilSynced()
        // the backup
        hub.kill(SIGTERM)
        let database = hub.dataDirectory + "/hub.sqlite"
        let files = ["", "-wal", "-shm"].filter { FileManager.default.fileExists(atPath: database + $0) }
        for suffix in files {
            try FileManager.default.copyItem(atPath: database + suffix, toPath: dir.path + "/backup" + suffix)
        }
        try await hub.restart()
        // churn threats of new customers: an alert each, whose outbox rows go once the hub acknowledges them
        let threats = (0..<6).map { i in
            SyncingAgent.line(
                store: "store-061",
                [
                    "device_id": "store-061-kiosk", "channel": "kiosk", "type": "chat.message",
                    "ts": Int64(Date().timeIntervalSince1970 * 1000) - Int64(i), "customer_id": "churner-\(i)",
                    "text": [
                        "I am going to cancel my membership", "cancel my account, I'm done with you",
                        "switching to Lidl after this", "I will close my account tomorrow",
                        "cancelling my subscription today", "I'm leaving for a competitor",
                    ][i],
                ])
        }
        _ = try await agent.ingest(threats)
        try await agent.waitUntilSynced()
        let raised = try await Self.alertIDs(agent).count
        #expect(raised >= 4, "alerts: \(raised)")
        // the hub is restored from the backup: it lost the threats and their alerts
        hub.kill(SIGTERM)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: database + suffix) {
            try FileManager.default.removeItem(atPath: database + suffix)
        }
        for suffix in files {
            try FileManager.default.copyItem(atPath: dir.path + "/backup" + suffix, toPath: database + suffix)
        }
        try await hub.restart()
        _ = try await agent.ingest(SyncingAgent.events(store: "store-061", count: 5))
        try await agent.waitUntilSynced()
        #expect(try await agent.syncStatus().unsynced == 0, "\(agent.stderr.suffix(3000))")
        let events = try await readOnlyDatabase(database).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
        }
        #expect(events == 21)
        agent.kill(SIGTERM)
        hub.kill(SIGTERM)
    }

    /// A row that cannot be sent (a damaged payload) failed every batch that held it, the same way each time, and
    /// every later event waited behind it for good. It is now left out, its seq inside the range, the row kept.
    @Test("an outbox row that cannot be read is left out instead of stalling sync")
    func anUnreadableRowDoesNotStallSync() async throws {
        let dir = TempDir()
        let data = dir.path + "/agent"
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let link = try await ChaosProxy.relay(to: hub)
        let agent = try SyncingAgent(
            store: "store-071", dataDirectory: data, hubURL: link.url, hub: hub, environment: SyncFaultTests.fastSync)
        link.state.enabled.withLock { $0 = false }
        try await agent.start()
        _ = try await agent.ingest(SyncingAgent.events(store: "store-071", count: 5))
        agent.kill(SIGTERM)
        let buffer = try DatabaseQueue(path: data + "/buffer.sqlite")
        try await buffer.write { db in
            let seq = try Int64.fetchOne(db, sql: "SELECT min(seq) + 2 FROM events") ?? 3
            try db.execute(sql: "UPDATE events SET payload = x'ffffffff0a' WHERE seq = ?", arguments: [seq])
        }
        try buffer.close()
        link.state.enabled.withLock { $0 = true }
        try await agent.start()
        _ = try await agent.ingest(SyncingAgent.events(store: "store-071", count: 2))
        try await agent.waitUntilSynced()
        #expect(try await agent.syncStatus().unsynced == 0, "\(agent.stderr.suffix(3000))")
        let events = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0
        }
        #expect(events == 6)
        #expect(agent.stderr.contains("outbox rows that cannot be sent are left out"), "\(agent.stderr.suffix(2000))")
        let kept = try await readOnlyDatabase(data + "/buffer.sqlite").read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE payload = x'ffffffff0a'") ?? 0
        }
        #expect(kept == 1)
        agent.kill(SIGTERM)
        try await link.shutdown()
        hub.kill(SIGTERM)
    }

    /// A box whose data directory is restored from a backup (or whose disk lost synced writes) numbered its new
    /// events after the backup's last seq, under seqs the hub held for the events sent since; the hub took their
    /// batch for one it had merged, the acknowledgement marked them synced unsent, and eviction lost them. The
    /// agent now learns the hub's mark before it sends, and rows it never sent move after that mark.
    @Test("events acknowledged by an agent restored from a backup reach the hub")
    func eventsOfARestoredAgentReachTheHub() async throws {
        let dir = TempDir()
        let data = dir.path + "/agent"
        let backup = dir.path + "/backup"
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let link = try await ChaosProxy.relay(to: hub)
        let agent = try SyncingAgent(
            store: "store-081", dataDirectory: data, hubURL: link.url, hub: hub, environment: SyncFaultTests.fastSync)
        try await agent.start()
        var ids = try await agent.ingest(SyncingAgent.events(store: "store-081", count: 20))
        try await agent.waitUntilSynced()
        agent.kill(SIGTERM)
        try FileManager.default.copyItem(atPath: data, toPath: backup)
        try await agent.start()
        ids.formUnion(try await agent.ingest(SyncingAgent.events(store: "store-081", count: 20)))
        try await agent.waitUntilSynced()
        agent.kill(SIGTERM)
        // the box is restored from the backup, and takes events while its link is down
        try FileManager.default.removeItem(atPath: data)
        try FileManager.default.copyItem(atPath: backup, toPath: data)
        link.state.enabled.withLock { $0 = false }
        try await agent.start()
        ids.formUnion(try await agent.ingest(SyncingAgent.events(store: "store-081", count: 10)))
        link.state.enabled.withLock { $0 = true }
        try await agent.waitUntilSynced()
        #expect(try await agent.syncStatus().unsynced == 0, "\(agent.stderr.suffix(3000))")
        let held = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read { db in
            Set(
                try Data.fetchAll(db, sql: "SELECT event_id FROM events").map { data in
                    UUID(uuid: data.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) })
                })
        }
        #expect(ids.count == 50)
        #expect(held == ids, "the hub lacks \(ids.subtracting(held).count) acknowledged events")
        #expect(agent.stderr.contains("the hub holds seqs this buffer never sent"), "\(agent.stderr.suffix(2000))")
        agent.kill(SIGTERM)
        try await link.shutdown()
        hub.kill(SIGTERM)
    }

    /// The ids of the alerts the agent serves, newest first.
    static func alertIDs(_ agent: SyncingAgent) async throws -> [String] {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(agent.port)/v1/alerts"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 24)
        let alerts = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [[String: Any]] ?? []
        return alerts.compactMap { $0["alert_id"] as? String }
    }

    /// Acknowledges or resolves an alert on the agent's API with a note; returns the status.
    static func changeAlert(_ agent: SyncingAgent, _ id: String, _ action: String, note: String) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(agent.port)/v1/alerts/\(id)/\(action)")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: Array("{\"note\": \"\(note)\"}".utf8)))
        return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(30)).status.code)
    }

    /// Events of customer `key` in the agent's buffer (rows store the key in its compact form: expanded here).
    static func localEvents(of key: String, directory: String) throws -> Int {
        return try readOnlyDatabase(directory + "/buffer.sqlite").read { db in
            try Data.fetchAll(db, sql: "SELECT payload FROM events").filter {
                var event = try Cxsync_V1_Event(serializedBytes: [UInt8]($0))
                try event.expandStoredForms()
                return event.customerID == key
            }.count
        }
    }
}

extension HubContents {
    /// Customer key → events the hub holds for it.
    static func customerKeys(_ hubDirectory: String) throws -> [String: Int] {
        return try readOnlyDatabase(hubDirectory + "/hub.sqlite").read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT customer_id, count(*) FROM events WHERE customer_id IS NOT NULL GROUP BY customer_id")
            {
                out[row[0]] = row[1]
            }
            return out
        }
    }
}

@Suite("cx-agent enroll")
struct EnrollCommandTests {
    @Test func enrollsOnceWithAPrivateCredentialsFileAndRefusesBadInput() async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub")
        let data = dir.path + "/agent"
        let bad = try Subprocess.run(
            product: "cx-agent",
            ["enroll", "--data-dir", data, "--hub", hub.url, "--token", "cxe_wrong", "--ca", hub.caPath])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("invalid_token"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: data + "/credentials.json"))
        let untrusted = try Subprocess.run(
            product: "cx-agent",
            ["enroll", "--data-dir", data, "--hub", hub.url, "--token", "x", "--ca", "/nonexistent.pem"])
        #expect(untrusted.status == 2 && untrusted.stderr.contains("bad_ca"), "\(untrusted.stderr)")
        let plain = try Subprocess.run(
            product: "cx-agent",
            ["enroll", "--data-dir", data, "--hub", "http://127.0.0.1:1", "--token", "x", "--ca", hub.caPath])
        #expect(plain.status == 2 && plain.stderr.contains("https://"), "\(plain.stderr)")

        let token = try hub.enrollmentToken(store: "store-042", device: "kiosk-1")
        let ok = try Subprocess.run(
            product: "cx-agent", ["enroll", "--data-dir", data, "--hub", hub.url, "--token", token, "--ca", hub.caPath])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("store-042"))
        let attributes = try FileManager.default.attributesOfItem(atPath: data + "/credentials.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let credentials = try #require(try AgentCredentials.load(directory: data))
        #expect(credentials.storeID == "store-042" && credentials.fleetKey != nil)
        _ = try credentials.signingKey()

        // Not running: the state is read from the buffer.
        let idle = try Subprocess.run(product: "cx-agent", ["sync-status", "--data-dir", data])
        #expect(
            idle.status == 0 && idle.stdout.contains("\"state\" : \"not_running\"") && idle.stdout.contains(hub.url),
            "\(idle)")

        let again = try Subprocess.run(
            product: "cx-agent", ["enroll", "--data-dir", data, "--hub", hub.url, "--token", token, "--ca", hub.caPath])
        #expect(again.status == 2 && again.stderr.contains("already_enrolled"), "\(again.stderr)")
        let listed = try Subprocess.run(
            product: "cx-hub", ["agents", "list", "--data-dir", hub.dataDirectory, "--json"])
        #expect(listed.status == 0 && listed.stdout.contains(credentials.agentID))
        hub.kill(SIGTERM)
    }
}
