import AsyncHTTPClient
import CXCore
import CXProtocol
import CXTestSupport
import Foundation

/// One event the fixture syncs into the hub.
struct SeedEvent: Sendable {
    var store: String
    var channel: Channel
    var type: EventType
    var customer: String?
    /// Minutes before the fixture's start.
    var minutesAgo: Int64
}

/// One enrolled test agent and what it sends.
struct SeedAgent: Sendable {
    var agentID: String
    var store: String
    var device: String
    var events: [SeedEvent]
    var alerts: [String]
    var bufferDepth: UInt64
    /// Identity links the agent sends after its events and alerts.
    var links: [(String, String)] = []
}

/// A hub shared by the tests, with two agents that synced known events and alerts.
///
/// Tests that change state (alerts, configuration) use their own ids, so they do not disturb the counts others
/// check.
final class SeededHub: Sendable {
    let hub: HubProcess
    let agents: [SeedAgent]
    let startMillis: Int64

    private init(hub: HubProcess, agents: [SeedAgent], startMillis: Int64) {
        self.hub = hub
        self.agents = agents
        self.startMillis = startMillis
    }

    /// Every event the fixture synced.
    var events: [SeedEvent] { agents.flatMap(\.events) }

    private static let instance = Task { try await SeededHub.make() }

    /// The shared instance, started on first use.
    static func shared() async throws -> SeededHub {
        try await instance.value
    }

    /// The seed: store-a has a kiosk agent with every channel of customer `cust-1` but mobile, plus an old
    /// event ten days ago; store-b has a mobile/email agent. Alerts are open.
    static func seed() -> [SeedAgent] {
        let a: [SeedEvent] = [
            SeedEvent(store: "store-a", channel: .chat, type: .chatMessage, customer: "cust-1", minutesAgo: 30),
            SeedEvent(store: "store-a", channel: .kiosk, type: .surveyNPS, customer: "cust-1", minutesAgo: 50),
            SeedEvent(store: "store-a", channel: .web, type: .feedback, customer: "cust-1", minutesAgo: 40),
            SeedEvent(store: "store-a", channel: .pos, type: .posTransaction, customer: nil, minutesAgo: 5),
            SeedEvent(store: "store-a", channel: .pos, type: .posTransaction, customer: nil, minutesAgo: 6),
            SeedEvent(store: "store-a", channel: .pos, type: .posTransaction, customer: nil, minutesAgo: 7),
            SeedEvent(store: "store-a", channel: .pos, type: .posTransaction, customer: nil, minutesAgo: 8),
            SeedEvent(store: "store-a", channel: .kiosk, type: .surveyNPS, customer: "cust-2", minutesAgo: 10),
            SeedEvent(store: "store-a", channel: .kiosk, type: .surveyNPS, customer: "cust-2", minutesAgo: 11),
            SeedEvent(store: "store-a", channel: .kiosk, type: .feedback, customer: "cust-3", minutesAgo: 10 * 1440),
        ]
        let b: [SeedEvent] = [
            SeedEvent(store: "store-b", channel: .mobile, type: .review, customer: "cust-1", minutesAgo: 20),
            SeedEvent(store: "store-b", channel: .mobile, type: .review, customer: nil, minutesAgo: 21),
            SeedEvent(store: "store-b", channel: .mobile, type: .review, customer: nil, minutesAgo: 22),
            SeedEvent(store: "store-b", channel: .email, type: .supportTicket, customer: "cust-4", minutesAgo: 15),
        ]
        return [
            SeedAgent(
                agentID: "agt-cli-a", store: "store-a", device: "kiosk-1", events: a,
                alerts: ["alert-ack", "alert-resolve", "alert-assign", "alert-openapi", "alert-answer"], bufferDepth: 3),
            SeedAgent(
                agentID: "agt-cli-b", store: "store-b", device: "tablet-1", events: b, alerts: ["alert-b"],
                bufferDepth: 0),
        ]
    }

    private static func make() async throws -> SeededHub {
        let hub = try await HubProcess.start()
        let start = Int64(Date().timeIntervalSince1970 * 1000)
        let agents = seed()
        let client = try hub.client()
        do {
            for agent in agents {
                try await sync(agent, to: hub, client: client, now: start)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return SeededHub(hub: hub, agents: agents, startMillis: start)
    }

    /// Enrolls `agent` and syncs its events and alerts in one signed batch.
    static func sync(_ agent: SeedAgent, to hub: HubProcess, client: HTTPClient, now: Int64) async throws {
        let key = try await hub.enroll(client, agentID: agent.agentID, store: agent.store, device: agent.device)
        var batch = Cxsync_V1_Batch()
        batch.agentID = agent.agentID
        batch.epoch = 1
        batch.storeID = agent.store
        batch.sentHlc = HLCTimestamp(wallMillis: now, counter: 0).rawValue
        var seq: UInt64 = 0
        for e in agent.events {
            seq += 1
            let occurred = now - e.minutesAgo * 60_000
            let event = Event(
                eventID: UUID(), storeID: e.store, deviceID: agent.device, channel: e.channel, type: e.type,
                occurredAt: occurred, hlc: HLCTimestamp(wallMillis: now, counter: UInt16(seq)),
                customerID: e.customer,
                score: e.type == .surveyNPS ? Score(value: 9, scale: .nps) : nil, text: "seed \(seq)")
            batch.events.append(Cxsync_V1_Event(event, seq: seq, batchStoreID: agent.store))
        }
        for id in agent.alerts {
            seq += 1
            var alert = Cxsync_V1_AlertUpdate()
            alert.seq = seq
            alert.alertID = id
            alert.status = .open
            alert.rule = "low_sentiment"
            alert.severity = "warning"
            alert.storeID = agent.store
            alert.summary = "sentiment below threshold (\(id))"
            alert.raisedHlc = HLCTimestamp(wallMillis: now, counter: UInt16(seq)).rawValue
            batch.alertUpdates.append(alert)
        }
        for (a, b) in agent.links {
            seq += 1
            var link = Cxsync_V1_IdentityLink()
            link.seq = seq
            link.a = a
            link.b = b
            batch.identityLinks.append(link)
        }
        batch.seqFrom = 1
        batch.seqTo = seq
        var status = Cxsync_V1_AgentStatus()
        status.bufferDepth = agent.bufferDepth
        status.lastSeq = seq + agent.bufferDepth
        status.oldestUnsyncedOccurredAtMs = agent.bufferDepth > 0 ? now - 90_000 : 0
        batch.status = status
        let frame = FrameEncoder().frame(batch, kind: .batch, signer: (agent.agentID, key))
        let (synced, _, _) = try await hub.sync(client, frame)
        guard synced == 200 else {
            throw TestFailure("sync of \(agent.agentID) failed with \(synced)")
        }
    }
}
