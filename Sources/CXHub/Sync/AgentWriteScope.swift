import CXProtocol

/// What an agent's batch may write beside its own store's events and alerts (DESIGN §3: "An agent may write only
/// for its own store"; PROTOCOL.md §5).
///
/// An agent is a box in a store, holding the fleet key: the hub's easiest member to take over. The hub's settings
/// (`config`, `theme_owner`) reach every store downstream, and an erasure deletes a customer everywhere, so a batch
/// that writes them would let one store switch off the fleet's alerts or erase any customer. Those come from CX leads
/// at the hub (`cx config`, `cx erase`). What a store does see, it may write: facts about its customers (`profile`,
/// `consent`) and identity links. The scope is a store agent's; a regional hub forwarding to a central one (DESIGN
/// §1, not built yet) will need a role of its own.
enum AgentWriteScope {
    /// The LWW collections an agent may write: facts about customers.
    static let customerCollections: Set<String> = ["profile", "consent"]

    /// Throws `not_permitted` (403) at the first item above `above` (the items not applied yet) outside the agent's
    /// scope; the whole batch is refused.
    static func check(_ w: Cxsync_V1_Batch, above: UInt64) throws {
        for (i, u) in w.lwwUpdates.enumerated() where u.seq > above && !customerCollections.contains(u.collection) {
            throw HubError(
                "not_permitted",
                "lww_updates[\(i)]: collection '\(u.collection)' is not the agent's to write (hub settings such as config and theme_owner come from CX leads at the hub); agent '\(w.agentID)' may write only profile and consent",
                status: 403)
        }
        if let i = w.erasures.firstIndex(where: { $0.seq > above }) {
            throw HubError(
                "not_permitted",
                "erasures[\(i)]: customers are erased at the hub (cx erase); agent '\(w.agentID)' may not erase",
                status: 403)
        }
    }
}
