import CXCore
import CXProtocol
import CXTestSupport
import Foundation
import GRDB
import Logging
import Testing

@testable import CXHub

/// HLC timestamps more than the allowed drift ahead of the hub's clock are refused (DESIGN §2, PROTOCOL.md §8.1):
/// a write dated years ahead would win every last-writer-wins conflict after it.
@Suite("Clock drift at the hub")
struct ClockDriftTests {
    enum Item: String, CaseIterable, Sendable {
        case event, lwwUpdate, alertNote, alertAssignee, alertRaised
    }

    @Test(
        "an item dated ten minutes ahead of the hub is refused with clock_drift; nothing is applied",
        arguments: Item.allCases)
    func itemAheadIsRefused(_ item: Item) async throws {
        let dir = TempDir()
        let store = try HubStore.open(path: dir.path + "/hub.sqlite")
        let endpoint = SyncEndpoint(store: store, policy: MergePolicy(), logger: Logger(label: "test"))
        let a = try await EventIndexTests.agent(store, "store-a")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        func batch(ahead: Int64) -> Cxsync_V1_Batch {
            let wall = now + ahead
            let hlc = HLCTimestamp(wallMillis: wall, counter: 0).rawValue
            var b = a.batch(1...2, events: [a.event(seq: 1, hlcWall: item == .event ? wall : now)])
            var alert = AgentWriteScopeTests.alert("alert-1", seq: 2, status: .acknowledged)
            var register = Cxsync_V1_LWWString()
            register.value = "maria"
            register.hlc = hlc
            register.node = a.agentID
            switch item {
            case .event:
                b.seqTo = 1
                return b
            case .lwwUpdate:
                var u = AgentWriteScopeTests.lww("profile", "cust-1", "tier", "gold", seq: 2)
                u.hlc = hlc
                b.lwwUpdates = [u]
                return b
            case .alertNote: alert.note = register
            case .alertAssignee: alert.assignee = register
            case .alertRaised: alert.raisedHlc = hlc
            }
            b.alertUpdates = [alert]
            return b
        }
        let reply = await endpoint.handle(a.frame(batch(ahead: 10 * 60_000)))
        #expect(reply.status == 400)
        let error = try AgentWriteScopeTests.error(reply)
        #expect(error.code == "clock_drift")
        let named = [
            Item.event: "events[0]", .lwwUpdate: "lww_updates[0]", .alertNote: "alert_updates[0].note",
            .alertAssignee: "alert_updates[0].assignee", .alertRaised: "alert_updates[0].raised_hlc",
        ][item]!
        #expect(error.message.hasPrefix("\(named) has an HLC "), "\(error.message)")
        #expect(try await store.eventTotal() == 0)
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM alerts") } == 0)
        #expect(try await store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM lww") } == 0)
        // within the drift, the same batch is merged
        #expect(await endpoint.handle(a.frame(batch(ahead: 60_000))).status == 200)
        #expect(try await store.eventTotal() == 1)
        try store.close()
    }
}
