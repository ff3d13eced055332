import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Testing

@testable import CXHub

/// An agent may write only for its own store (DESIGN §3, PROTOCOL.md §5): the hub's settings and erasures come
/// from CX leads at the hub; what an agent writes about customers is stored under their keyed hashes and stays
/// erased once erased.
@Suite("What an agent may write at the hub")
struct AgentWriteScopeTests {
    /// State items outside an agent's scope.
    enum Forbidden: String, CaseIterable, Sendable {
        case fleetConfig, otherStoreConfig, ownStoreConfig, themeOwner, erasure
    }

    /// An LWW write of `value`, or a removal when nil.
    static func lww(_ collection: String, _ key: String, _ field: String, _ value: String?, seq: UInt64)
        -> Cxsync_V1_LWWUpdate
    {
        var u = Cxsync_V1_LWWUpdate()
        u.seq = seq
        u.collection = collection
        u.key = key
        u.field = field
        if let value { u.value = value }
        u.hlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
        u.node = "agent-store-a"
        return u
    }

    static func link(_ a: String, _ b: String, seq: UInt64) -> Cxsync_V1_IdentityLink {
        var l = Cxsync_V1_IdentityLink()
        l.seq = seq
        l.a = a
        l.b = b
        return l
    }

    static func error(_ reply: SyncEndpoint.Reply) throws -> Cxsync_V1_Error {
        let decoder = FrameDecoder()
        let header = try decoder.header(of: reply.frame)
        return try decoder.decode(Cxsync_V1_Error.self, from: decoder.payload(of: reply.frame, header: header))
    }

    /// The hub's LWW entries (collection, key, field, value; nil for a removal) and identity links, in order.
    static func state(_ store: HubStore) async throws -> (lww: [[String?]], links: [[String]]) {
        try await store.pool.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT collection, key, field, value FROM lww ORDER BY 1, 2, 3").map {
                    [$0[0] as String, $0[1] as String, $0[2] as String, $0[3] as String?]
                },
                try Row.fetchAll(db, sql: "SELECT a, b FROM identity_links ORDER BY a, b").map {
                    [$0[0] as String, $0[1] as String]
                }
            )
        }
    }

    @Test("a batch that writes the hub's settings or erases a customer is refused whole", arguments: Forbidden.allCases)
    func refused(_ item: Forbidden) async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        let victim = try #require(store.customerKey(for: "cust-9"))
        var b = a.batch(1...2, events: [a.event(seq: 1, customer: "cust-1")])
        switch item {
        case .fleetConfig: b.lwwUpdates = [Self.lww("config", "*", "alert_rules_disabled", "churn-threat", seq: 2)]
        case .otherStoreConfig: b.lwwUpdates = [Self.lww("config", "store-b", "alert_cooldown_seconds", "0", seq: 2)]
        case .ownStoreConfig: b.lwwUpdates = [Self.lww("config", "store-a", "alert_cooldown_seconds", "0", seq: 2)]
        case .themeOwner: b.lwwUpdates = [Self.lww("theme_owner", "delivery", "owner", "mallory", seq: 2)]
        case .erasure:
            var e = Cxsync_V1_Erasure()
            e.seq = 2
            e.subject = victim
            e.hlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
            b.erasures = [e]
        }
        let reply = await endpoint.handle(a.frame(b))
        #expect(reply.status == 403)
        let error = try Self.error(reply)
        #expect(error.code == "not_permitted")
        #expect(error.message.hasPrefix(item == .erasure ? "erasures[0]: " : "lww_updates[0]: "), "\(error.message)")
        // nothing of the batch is applied, and the agent's next batch without the item goes through
        #expect(try await store.eventTotal() == 0)
        #expect(try await Self.state(store).lww.isEmpty)
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM erasures") } == 0)
        #expect(await endpoint.handle(a.frame(a.batch(1...2, events: [a.event(seq: 1)]))).status == 200)
        #expect(try await store.eventTotal() == 1)
        try store.close()
    }

    /// Kept as sent (a key, or an identifier an agent without enrichment stores unhashed, as its events are), so
    /// that they join the customer's events; once the customer is erased, nothing of it comes back by either name.
    @Test("profiles, consents and identity links of an erased customer are deleted and never admitted again")
    func customerFactsFollowTheErasure() async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        let key1 = try #require(store.customerKey(for: "cust-1"))
        let key2 = try #require(store.customerKey(for: "cust-2"))
        var b = a.batch(1...4, events: [])
        b.lwwUpdates = [
            Self.lww("profile", "cust-1", "tier", "gold", seq: 1),
            Self.lww("consent", key2, "marketing", "yes", seq: 2),
        ]
        // one link, seen from both sides
        b.identityLinks = [Self.link("cust-1", key2, seq: 3), Self.link(key2, "cust-1", seq: 4)]
        #expect(await endpoint.handle(a.frame(b)).status == 200)
        var state = try await Self.state(store)
        #expect(state.lww == [["consent", key2, "marketing", "yes"], ["profile", "cust-1", "tier", "gold"]])
        #expect(state.links == [["cust-1", key2].sorted()])

        #expect(try await store.erase(subject: key1, unhashed: "cust-1") == 0)
        state = try await Self.state(store)
        #expect(state.lww == [["consent", key2, "marketing", "yes"]])
        #expect(state.links.isEmpty)

        // an agent that was offline at the erasure writes about the customer again, by identifier and by key
        var late = a.batch(5...10, events: [])
        late.lwwUpdates = [
            Self.lww("profile", "cust-1", "tier", "platinum", seq: 5), Self.lww("consent", key1, "sms", "yes", seq: 6),
            Self.lww("profile", key1, "tier", nil, seq: 7), Self.lww("consent", key2, "marketing", nil, seq: 8),
        ]
        late.identityLinks = [Self.link("cust-3", "cust-1", seq: 9), Self.link(key1, key2, seq: 10)]
        #expect(await endpoint.handle(a.frame(late)).status == 200)
        state = try await Self.state(store)
        #expect(state.lww == [["consent", key2, "marketing", nil]])
        #expect(state.links.isEmpty)
        var other = a.batch(11...12, events: [])
        other.identityLinks = [Self.link(key2, "cust-3", seq: 11), Self.link("cust-3", key2, seq: 12)]
        #expect(await endpoint.handle(a.frame(other)).status == 200)
        #expect(try await Self.state(store).links == [["cust-3", key2].sorted()])
        try store.close()
    }

    /// A batch acknowledged before the hub refused such items answers as it did when it comes again.
    @Test("the scope applies to items not merged yet: a batch acknowledged before is answered as before")
    func acknowledgedItemsAreNotJudgedAgain() async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        #expect(await endpoint.handle(a.frame(a.batch(1...2))).status == 200)
        // an overlap that carries a fleet setting at a seq merged before: that seq is ignored (PROTOCOL.md §6.5)
        var overlap = a.batch(1...3, events: [a.event(seq: 1), a.event(seq: 3)])
        overlap.lwwUpdates = [Self.lww("config", "*", "alert_cooldown_seconds", "0", seq: 2)]
        #expect(await endpoint.handle(a.frame(overlap)).status == 200)
        #expect(try await store.eventTotal() == 3)
        // the same item at a new seq is judged
        var next = a.batch(4...5, events: [a.event(seq: 4)])
        next.lwwUpdates = [Self.lww("config", "*", "alert_cooldown_seconds", "0", seq: 5)]
        #expect(await endpoint.handle(a.frame(next)).status == 403)
        #expect(try await store.eventTotal() == 3)
        #expect(try await Self.state(store).lww.isEmpty)
        try store.close()
    }

    static func alert(_ id: String, seq: UInt64, status: Cxsync_V1_AlertStatus) -> Cxsync_V1_AlertUpdate {
        var a = Cxsync_V1_AlertUpdate()
        a.seq = seq
        a.alertID = id
        a.status = status
        a.rule = "complaint"
        a.severity = "info"
        a.summary = "complaint at the kiosk"
        a.raisedHlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
        return a
    }

    @Test("an agent cannot change another store's alert, whatever store its update names")
    func anotherStoresAlertIsRefused() async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        let b = try await EventIndexTests.agent(store, "store-b")
        var raised = b.batch(1...1, events: [])
        raised.alertUpdates = [Self.alert("alert-of-b", seq: 1, status: .open)]
        #expect(await endpoint.handle(b.frame(raised)).status == 200)
        // store-a's agent resolves it, naming no store (its own is then assumed)
        var hijack = a.batch(1...2, events: [a.event(seq: 1)])
        hijack.alertUpdates = [Self.alert("alert-of-b", seq: 2, status: .resolved)]
        let reply = await endpoint.handle(a.frame(hijack))
        #expect(reply.status == 403)
        let error = try Self.error(reply)
        #expect(error.code == "store_mismatch")
        #expect(
            error.message.hasPrefix("alert_updates[0]: alert 'alert-of-b' belongs to store 'store-b'"),
            "\(error.message)")
        #expect(try await store.eventTotal() == 0)
        let status = try await store.pool.read {
            try Int.fetchOne($0, sql: "SELECT status FROM alerts WHERE alert_id = 'alert-of-b'")
        }
        #expect(status == Cxsync_V1_AlertStatus.open.rawValue)
        // its own alerts it may resolve
        var own = a.batch(1...2, events: [a.event(seq: 1)])
        own.alertUpdates = [Self.alert("alert-of-a", seq: 2, status: .resolved)]
        #expect(await endpoint.handle(a.frame(own)).status == 200)
        try store.close()
    }

    /// Registers an agent may write, each under a node that is not its id.
    enum ForeignNode: String, CaseIterable, Sendable {
        case profile, alertNote, alertAssignee
    }

    @Test(
        "an agent writes LWW registers only under its own id: a foreign node would win every tie",
        arguments: ForeignNode.allCases)
    func foreignNodeIsRefused(_ item: ForeignNode) async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        let customer = try #require(store.customerKey(for: "cust-1"))
        func batch(node: String) -> Cxsync_V1_Batch {
            var b = a.batch(1...2, events: [a.event(seq: 1, customer: "cust-1")])
            var register = Cxsync_V1_LWWString()
            register.value = "mallory"
            register.hlc = HLCTimestamp(wallMillis: Int64(Date().timeIntervalSince1970 * 1000), counter: 0).rawValue
            register.node = node
            switch item {
            case .profile:
                var u = Self.lww("profile", customer, "tier", "gold", seq: 2)
                u.node = node
                b.lwwUpdates = [u]
            case .alertNote:
                b.alertUpdates = [Self.alert("alert-of-a", seq: 2, status: .acknowledged)]
                b.alertUpdates[0].note = register
            case .alertAssignee:
                b.alertUpdates = [Self.alert("alert-of-a", seq: 2, status: .acknowledged)]
                b.alertUpdates[0].assignee = register
            }
            return b
        }
        let reply = await endpoint.handle(a.frame(batch(node: "~hub")))
        #expect(reply.status == 403)
        let error = try Self.error(reply)
        #expect(error.code == "not_permitted")
        let field = [
            "profile": "lww_updates[0]", "alertNote": "alert_updates[0].note",
            "alertAssignee": "alert_updates[0].assignee",
        ][item.rawValue]!
        #expect(
            error.message == "\(field): written under node '~hub'; agent 'agent-store-a' writes only under its own id",
            "\(error.message)")
        #expect(try await store.eventTotal() == 0)
        #expect(try await Self.state(store).lww.isEmpty)
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM alerts") } == 0)
        // under its own id the same batch goes through
        #expect(await endpoint.handle(a.frame(batch(node: a.agentID))).status == 200)
        #expect(try await store.eventTotal() == 1)
        try store.close()
    }

    /// An agent id is no secret: a frame that only claims it must not write to the hub, nor into the agent's row.
    @Test("refusals are recorded in the agent's row only for frames the agent signed")
    func forgedFramesLeaveNoTrace() async throws {
        let dir = TempDir()
        let (store, endpoint) = try EventIndexTests.hub(dir)
        let a = try await EventIndexTests.agent(store, "store-a")
        func row() async throws -> (refusals: Int, lastError: String?) {
            try await store.pool.read { db in
                let r = try Row.fetchOne(
                    db, sql: "SELECT refusals, last_error FROM agents WHERE agent_id = ?", arguments: [a.agentID])!
                return (r[0], r[1])
            }
        }
        let forged = a.frame(a.batch(1...1), signer: AgentSigningKey())
        #expect(await endpoint.handle(forged).status == 403)
        #expect(try await row().refusals == 0)
        #expect(try await row().lastError == nil)
        var invalid = a.batch(1...1)
        invalid.epoch = 0
        #expect(await endpoint.handle(a.frame(invalid)).status == 400)
        #expect(try await row().refusals == 1)
        #expect(try await row().lastError?.hasPrefix("invalid_field") == true)
        #expect(try store.revoke(agentID: a.agentID))
        #expect(await endpoint.handle(forged).status == 403)
        #expect(try await row().refusals == 1)
        #expect(await endpoint.handle(a.frame(a.batch(1...1))).status == 403)
        #expect(try await row().refusals == 2)
        try store.close()
    }
}
