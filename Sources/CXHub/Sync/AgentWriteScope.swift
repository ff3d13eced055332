import CXProtocol

/// What an agent's batch may write beside its own store's events and alerts (DESIGN §3: "An agent may write only
/// for its own store"; PROTOCOL.md §5).
///
/// An agent is a box in a store, holding the fleet key: the hub's easiest member to take over. The hub's settings
/// (`config`, `theme_owner`) reach every store downstream, and an erasure deletes a customer everywhere, so a batch
/// that writes them would let one store switch off the fleet's alerts or erase any customer. Those come from CX leads
/// at the hub (`cx config`, `cx erase`). What a store does see, it may write: facts about its customers (`profile`,
/// `consent`) and identity links.
enum AgentWriteScope {
    /// The LWW collections an agent may write: facts about customers.
    static let customerCollections: Set<String> = ["profile", "consent"]

    /// Throws `not_permitted` (403) at the first item outside the agent's scope; the whole batch is refused.
    static func check(_ w: Cxsync_V1_Batch) throws {
        for (i, u) in w.lwwUpdates.enumerated() where !customerCollections.contains(u.collection) {
            throw HubError(
                "not_permitted",
                "lww_updates[\(i)]: collection '\(u.collection)' is set at the hub by CX leads; agent '\(w.agentID)' may write only profile and consent",
                status: 403)
        }
        if !w.erasures.isEmpty {
            throw HubError(
                "not_permitted",
                "erasures[0]: customers are erased at the hub (cx erase); agent '\(w.agentID)' may not erase",
                status: 403)
        }
    }
}
