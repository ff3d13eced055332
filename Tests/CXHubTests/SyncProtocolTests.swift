import AsyncHTTPClient
import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import Testing

/// `POST /v1/sync` against a real `cx-hub` process over TLS on loopback.
@Suite("Hub sync over TLS", .serialized)
struct SyncProtocolTests {
    static func withHub(
        environment: [String: String] = [:], _ body: (HubProcess, HTTPClient) async throws -> Void
    ) async throws {
        let dir = TempDir()
        let hub = try await HubProcess.start(dataDirectory: dir.path + "/hub", environment: environment)
        let client = try hub.client()
        do {
            try await body(hub, client)
        } catch {
            try? await client.shutdown()
            hub.kill(SIGTERM)
            throw error
        }
        try await client.shutdown()
        hub.kill(SIGTERM)
        withExtendedLifetime(dir) {}
    }

    static func total(_ hub: HubProcess, _ client: HTTPClient) async throws -> Int {
        let (status, body) = try await hub.get(client, "/v1/events/counts")
        #expect(status == 200)
        let rows = try JSONSerialization.jsonObject(with: Data(body.utf8)) as! [[String: Any]]
        return rows.reduce(0) { $0 + ($1["events"] as! Int) }
    }

    @Test("in-order batches are merged once; a re-sent batch returns the same ack and changes nothing")
    func idempotentMerge() async throws {
        try await Self.withHub { hub, client in
            let key = try await hub.enroll(client, agentID: "agent-a", store: "store-001", device: "kiosk-1")
            let agent = TestAgent(agentID: "agent-a", store: "store-001", key: key)
            let frame = agent.frame(agent.batch(1...100))
            let (s1, ack1, _) = try await hub.sync(client, frame)
            #expect(s1 == 200)
            #expect(ack1?.highWaterMark == 100)
            #expect(ack1?.duplicate == false)
            let (s2, ack2, _) = try await hub.sync(client, frame)
            #expect(s2 == 200)
            #expect(ack2?.duplicate == true)
            #expect(ack2?.highWaterMark == 100)
            #expect(ack2?.batchHash == ack1?.batchHash)
            let (s3, ack3, _) = try await hub.sync(client, agent.frame(agent.batch(101...150)))
            #expect(s3 == 200 && ack3?.highWaterMark == 150)
            #expect(try await Self.total(hub, client) == 150)
            let (_, fleet) = try await hub.get(client, "/v1/fleet")
            #expect(fleet.contains("\"events_synced\":150"))
        }
    }

    @Test("a gap is refused with the expected seq; a conflicting re-send is refused; nothing is applied")
    func gapAndConflict() async throws {
        try await Self.withHub { hub, client in
            let key = try await hub.enroll(client, agentID: "agent-g", store: "store-002", device: "pos-1")
            let agent = TestAgent(agentID: "agent-g", store: "store-002", key: key)
            #expect(try await hub.sync(client, agent.frame(agent.batch(1...10))).0 == 200)
            let (s, _, err) = try await hub.sync(client, agent.frame(agent.batch(20...30)))
            #expect(s == 409)
            #expect(err?.code == "gap")
            #expect(err?.expectedSeq == 11)
            let (c, _, cerr) = try await hub.sync(client, agent.frame(agent.batch(1...10)))
            #expect(c == 409)
            #expect(cerr?.code == "hash_conflict")
            #expect(try await Self.total(hub, client) == 10)
        }
    }

    enum Attack: String, CaseIterable, Sendable {
        case unsigned, badSignature, revoked, otherStore, replayedIdentity, malformed, unknownMajorFrame
        case unknownMajorHeader, zstdBomb, unknownAgent
    }

    @Test("refused with the right status and code, nothing applied", arguments: Attack.allCases)
    func refusals(_ attack: Attack) async throws {
        try await Self.withHub { hub, client in
            let key = try await hub.enroll(client, agentID: "agent-s", store: "store-003", device: "kiosk-1")
            let agent = TestAgent(agentID: "agent-s", store: "store-003", key: key)
            let otherKey = try await hub.enroll(client, agentID: "agent-t", store: "store-004", device: "kiosk-2")
            let batch = agent.batch(1...5)
            var headers = [("CX-Protocol", "1.1")]
            let frame: [UInt8]
            let expected: (Int, String)
            switch attack {
            case .unsigned:
                frame = FrameEncoder().frame(batch, kind: .batch)
                expected = (401, "missing_signature")
            case .badSignature:
                frame = agent.frame(batch, signer: AgentSigningKey())
                expected = (403, "bad_signature")
            case .revoked:
                let revoked = try Subprocess.run(
                    product: "cx-hub", ["agents", "revoke", "--data-dir", hub.dataDirectory, "agent-s"])
                #expect(revoked.status == 0, "\(revoked.stderr)")
                frame = agent.frame(batch)
                expected = (403, "revoked")
            case .otherStore:
                frame = agent.frame(
                    agent.batch(1...5, events: (1...5).map { agent.event(seq: $0, store: "store-004") }))
                expected = (403, "store_mismatch")
            case .replayedIdentity:
                // agent-s's batch, re-signed by agent-t and sent under agent-t's identity.
                frame = agent.frame(batch, signer: otherKey, keyID: "agent-t")
                expected = (403, "identity_mismatch")
            case .malformed:
                var f = agent.frame(batch)
                f.removeLast(40)
                frame = f
                expected = (400, "truncated_frame")
            case .unknownMajorFrame:
                var f = agent.frame(batch)
                f[4] = 9
                frame = f
                expected = (426, "unsupported_version")
            case .unknownMajorHeader:
                frame = agent.frame(batch)
                headers = [("CX-Protocol", "7.0")]
                expected = (426, "unsupported_version")
            case .zstdBomb:
                // 12 MiB of zeros squeezed into a few KiB: refused from the header, before inflating.
                frame = FrameEncoder().frame(
                    message: [UInt8](repeating: 0, count: 12 << 20), kind: .batch, signer: ("agent-s", key),
                    ratioLimit: nil)
                expected = (413, "decompressed_too_large")
            case .unknownAgent:
                frame = agent.frame(batch, signer: AgentSigningKey(), keyID: "agent-nobody")
                expected = (401, "unknown_agent")
            }
            let (status, ack, err) = try await hub.sync(client, frame, headers: headers)
            #expect(ack == nil)
            #expect(status == expected.0)
            #expect(err?.code == expected.1)
            #expect(err?.message.isEmpty == false)
            #expect(try await Self.total(hub, client) == 0)
        }
    }

    /// (configured max_frame_bytes, nil: the default; the limit that applies). A setting above the protocol's 8 MiB is
    /// refused when the hub starts (`HubSettingsBoundsTests`).
    @Test(
        "an oversized body is refused with 413 before it is read",
        arguments: [("65536", 65_536), (nil, 8_388_608)] as [(String?, Int)])
    func oversizedBody(_ configured: String?, _ limit: Int) async throws {
        let environment = configured.map { ["CX_HUB_MAX_FRAME_BYTES": $0] } ?? [:]
        try await Self.withHub(environment: environment) { hub, client in
            let key = try await hub.enroll(client, agentID: "agent-o", store: "store-005", device: "kiosk-1")
            let agent = TestAgent(agentID: "agent-o", store: "store-005", key: key)
            var frame = agent.frame(agent.batch(1...5))
            frame += [UInt8](repeating: 7, count: limit + 1 - frame.count)
            let (status, _, err) = try await hub.sync(client, frame)
            #expect(status == 413)
            #expect(err?.code == "frame_too_large")
            #expect(err?.message == "body of \(limit + 1) bytes exceeds the limit of \(limit)")
            #expect(try await Self.total(hub, client) == 0)
        }
    }

    /// Sync bodies are read before their signature can be checked, so what all requests hold at once is bounded:
    /// a request holds the bytes it has sent (not the length it announced), one that does not fit beside the others
    /// is shed, and the budget frees as bodies end. Announcing 8 MiB and sending a byte a minute held the whole
    /// budget before: any caller, without credentials, could stop every agent's sync.
    @Test("a sync request holds what it sent; beyond the bytes in flight requests are shed with 503, then taken again")
    func syncBodiesAreShedWhenTheBudgetIsFull() async throws {
        let environment = ["CX_HUB_MAX_FRAME_BYTES": "65536", "CX_HUB_MAX_SYNC_BYTES_IN_FLIGHT": "65536"]
        try await Self.withHub(environment: environment) { hub, client in
            let key = try await hub.enroll(client, agentID: "agent-l", store: "store-009", device: "kiosk-1")
            let agent = TestAgent(agentID: "agent-l", store: "store-009", key: key)
            // One frame, posted again and again: once merged, the hub answers it as a duplicate (200).
            let frame = agent.frame(agent.batch(1...1))
            func post() async throws -> (HTTPResponseStatus, String?, Cxsync_V1_Error?) {
                var request = HTTPClientRequest(url: hub.url + "/v1/sync")
                request.method = .POST
                request.headers.add(name: "CX-Protocol", value: "1.1")
                request.body = .bytes(ByteBuffer(bytes: frame))
                let response = try await client.execute(request, timeout: .seconds(10))
                let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
                let decoder = FrameDecoder()
                let header = try decoder.header(of: bytes)
                let error =
                    response.status == .ok
                    ? nil : try decoder.decode(Cxsync_V1_Error.self, from: decoder.payload(of: bytes, header: header))
                return (response.status, response.headers.first(name: "retry-after"), error)
            }
            // A slow sender announces the whole budget and sends 100 bytes: the others are taken beside it.
            let (stream, body) = AsyncStream<ByteBuffer>.makeStream()
            var slow = HTTPClientRequest(url: hub.url + "/v1/sync")
            slow.method = .POST
            slow.headers.add(name: "CX-Protocol", value: "1.1")
            slow.body = .stream(stream, length: .known(Int64(65_536)))
            async let held = client.execute(slow, timeout: .seconds(30))
            body.yield(ByteBuffer(repeating: 0, count: 100))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await post().0 == .ok, "a slow body holds only what it has sent")
            // It sends nearly all it announced: now a frame no longer fits beside it.
            body.yield(ByteBuffer(repeating: 0, count: 65_436 - 16))
            try await Task.sleep(for: .milliseconds(300))
            let shed = try await post()
            #expect(shed.0 == .serviceUnavailable)
            #expect(shed.1 == "1")
            #expect(shed.2?.code == "overloaded")
            // The slow body ends (not a frame: refused), its bytes are released, and requests are taken again.
            body.yield(ByteBuffer(repeating: 0, count: 16))
            body.finish()
            #expect(try await held.status == .badRequest)
            #expect(try await post().0 == .ok)
            #expect(try await Self.total(hub, client) == 1)
        }
    }

    /// A body must arrive at 16 KiB/s after 30 s of grace: one that stalls is answered 408 and releases what it held.
    @Test func aStalledSyncBodyTimesOut() async throws {
        try await Self.withHub { hub, client in
            let (stream, body) = AsyncStream<ByteBuffer>.makeStream()
            var slow = HTTPClientRequest(url: hub.url + "/v1/sync")
            slow.method = .POST
            slow.headers.add(name: "CX-Protocol", value: "1.1")
            slow.body = .stream(stream, length: .known(Int64(1_000)))
            body.yield(ByteBuffer(repeating: 0, count: 10))
            let started = ContinuousClock.now
            let response = try await client.execute(slow, timeout: .seconds(90))
            let waited = ContinuousClock.now - started
            body.finish()
            let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
            let decoder = FrameDecoder()
            let error = try decoder.decode(
                Cxsync_V1_Error.self, from: decoder.payload(of: bytes, header: try decoder.header(of: bytes)))
            #expect(response.status == .requestTimeout)
            #expect(error.code == "request_timeout")
            #expect(waited >= .seconds(29) && waited < .seconds(60), "\(waited)")
        }
    }

    @Test("the query API refuses a missing or wrong operator token")
    func operatorToken() async throws {
        try await Self.withHub { hub, client in
            let (status, body) = try await hub.get(client, "/v1/fleet", token: "cxa_wrong")
            #expect(status == 401)
            #expect(body.contains("unauthorized"))
            #expect(try await hub.get(client, "/v1/fleet").0 == 200)
        }
    }

    @Test("a kiosk hours off still syncs, is flagged, and its writes do not win conflicts by its bad clock")
    func skewedClock() async throws {
        try await Self.withHub { hub, client in
            let badKey = try await hub.enroll(client, agentID: "agent-skew", store: "store-006", device: "kiosk-1")
            let goodKey = try await hub.enroll(client, agentID: "agent-good", store: "store-007", device: "kiosk-1")
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let ahead = now + 3 * 3_600_000
            // both stores saw the same customer: a key, as an enriching agent sends it
            let customer = String(repeating: "ab", count: 16)
            let bad = TestAgent(agentID: "agent-skew", store: "store-006", key: badKey)
            let good = TestAgent(agentID: "agent-good", store: "store-007", key: goodKey)
            func lww(_ value: String, seq: UInt64, wall: Int64, node: String) -> Cxsync_V1_LWWUpdate {
                var u = Cxsync_V1_LWWUpdate()
                u.seq = seq
                u.collection = "profile"
                u.key = customer
                u.field = "preferred_store"
                u.value = value
                u.hlc = HLCTimestamp(wallMillis: wall, counter: 0).rawValue
                u.node = node
                return u
            }
            var b1 = bad.batch(1...2, events: [bad.event(seq: 1, hlcWall: ahead)], sentWall: ahead)
            b1.lwwUpdates = [lww("from the bad clock", seq: 2, wall: ahead, node: "agent-skew")]
            let (s1, ack1, e1) = try await hub.sync(client, bad.frame(b1))
            #expect(s1 == 200, "\(String(describing: e1))")
            #expect((ack1?.clockOffsetMs ?? 0) < -3_500_000 + 400_000)
            try await Task.sleep(for: .milliseconds(50))
            var b2 = good.batch(1...1, events: [])
            b2.lwwUpdates = [
                lww("from the good clock", seq: 1, wall: Int64(Date().timeIntervalSince1970 * 1000), node: "agent-good")
            ]
            #expect(try await hub.sync(client, good.frame(b2)).0 == 200)
            let winner = try await readOnlyDatabase(hub.dataDirectory + "/hub.sqlite").read { db in
                try String.fetchOne(
                    db, sql: "SELECT value FROM lww WHERE collection = 'profile' AND key = ?", arguments: [customer])
            }
            #expect(winner == "from the good clock")
            let (_, fleet) = try await hub.get(client, "/v1/fleet")
            #expect(fleet.contains("\"skewed\":true"))
            #expect(fleet.contains("clock_skewed"))
        }
    }

    @Test("configuration and alert changes made at the hub reach agents in the ack's downstream")
    func downstream() async throws {
        try await Self.withHub { hub, client in
            let key = try await hub.enroll(client, agentID: "agent-d", store: "store-008", device: "kiosk-1")
            let agent = TestAgent(agentID: "agent-d", store: "store-008", key: key)
            var b = agent.batch(1...2, events: [agent.event(seq: 1)])
            var alert = Cxsync_V1_AlertUpdate()
            alert.seq = 2
            alert.alertID = "alert-1"
            alert.status = .open
            alert.rule = "sentiment"
            alert.severity = "high"
            alert.summary = "angry customer at the kiosk"
            alert.raisedHlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
            b.alertUpdates = [alert]
            let (s, ack, _) = try await hub.sync(client, agent.frame(b))
            #expect(s == 200)
            let cursor = ack?.downstream.cursor ?? 0
            var put = HTTPClientRequest(url: hub.url + "/v1/config/*/survey_prompt")
            put.method = .PUT
            put.headers.add(name: "authorization", value: "Bearer \(hub.adminToken)")
            put.body = .bytes(.init(string: "{\"value\":\"How was your visit?\"}"))
            #expect(try await client.execute(put, timeout: .seconds(10)).status.code == 200)
            let (as_, body) = try await hub.post(
                client, "/v1/alerts/alert-1/acknowledge", Array("{\"assignee\":\"maria\"}".utf8),
                contentType: "application/json", headers: [("authorization", "Bearer \(hub.adminToken)")])
            #expect(as_ == 200, "\(body)")
            var poll = Cxsync_V1_Batch()
            poll.agentID = "agent-d"
            poll.epoch = 1
            poll.storeID = "store-008"
            poll.poll = true
            poll.downstreamCursor = cursor
            poll.sentHlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
            let (ps, pack, perr) = try await hub.sync(client, agent.frame(poll))
            #expect(ps == 200, "\(String(describing: perr))")
            let d = try #require(pack?.downstream)
            #expect(d.config.contains { $0.field == "survey_prompt" && $0.value == "How was your visit?" })
            #expect(
                d.alerts.contains {
                    $0.alertID == "alert-1" && $0.status == .acknowledged && $0.assignee.value == "maria"
                })
            #expect(d.cursor > cursor)
            #expect(pack?.highWaterMark == 2)
        }
    }
}
