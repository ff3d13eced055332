import CXProtocol

/// What an agent's batch may write beside its own store's events and alerts (DESIGN §3: "An agent may write only
/// for its own store"; PROTOCOL.md §5).
///
/// An agent is a box in a store, holding the fleet key: the hub's easiest member to take over. The hub's settings
/// (`config`, `theme_owner`) reach every store downstream, and an erasure deletes a customer everywhere, so a batch
/// that writes them would let one store switch off the fleet's alerts or erase any customer. Those come from CX leads
/// at the hub (`cx config`, `cx erase`). What a store does see, it may write: facts about its customers (`profile`,
/// `consent`) and identity links. It writes them under its own id as the LWW `node`: the node breaks ties between equal
/// HLCs, so an agent naming another node (or `~`, larger than any id) would win every tie against the hub and other
/// stores. The scope is a store agent's; a regional hub forwarding to a central one (DESIGN §1, not built yet) will
/// need a role of its own.
enum AgentWriteScope {
    /// The LWW collections an agent may write: facts about customers.
    static let customerCollections: Set<String> = ["profile", "consent"]

    /// Throws `not_permitted` (403) at the first item above `above` (the items not applied yet) outside the agent's
    /// scope or written under another node than the agent's id; the whole batch is refused.
    static func check(_ w: Cxsync_V1_Batch, above: UInt64) throws {
        for (i, u) in w.lwwUpdates.enumerated() where u.seq > above && !customerCollections.contains(u.collection) {
            throw HubError(
                "not_permitted",
                "lww_updates[\(i)]: collection '\(u.collection)' is not the agent's to write (hub settings such as config and theme_owner come from CX leads at the hub); agent '\(w.agentID)' may write only profile and consent",
                status: 403)
        }
        for (i, u) in w.lwwUpdates.enumerated() where u.seq > above && u.node != w.agentID {
            throw foreignNode("lww_updates[\(i)]", u.node, w.agentID)
        }
        for (i, a) in w.alertUpdates.enumerated() where a.seq > above {
            if a.hasNote && a.note.node != w.agentID {
                throw foreignNode("alert_updates[\(i)].note", a.note.node, w.agentID)
            }
            if a.hasAssignee && a.assignee.node != w.agentID {
                throw foreignNode("alert_updates[\(i)].assignee", a.assignee.node, w.agentID)
            }
        }
        if let i = w.erasures.firstIndex(where: { $0.seq > above }) {
            throw HubError(
                "not_permitted",
                "erasures[\(i)]: customers are erased at the hub (cx erase); agent '\(w.agentID)' may not erase",
                status: 403)
        }
    }

    static func foreignNode(_ item: String, _ node: String, _ agentID: String) -> HubError {
        HubError(
            "not_permitted",
            "\(item): written under node '\(node)'; agent '\(agentID)' writes only under its own id", status: 403)
    }
}
