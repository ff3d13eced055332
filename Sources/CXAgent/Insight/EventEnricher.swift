import CXCore
import CXInsight
import Foundation
import Synchronization

/// Runs CXInsight on validated events before they are committed: the stored event holds the masked text,
/// the hashed customer identifier, the scores, intents, themes, flags and the model version. Raw PII never
/// reaches the database.
///
/// The text analysis runs on the request's own task (requests enrich in parallel); the near-duplicate window,
/// the alert rules and the customer-key cache, which need memory across events, run under one lock taken once
/// per request (a first-seen customer is hashed there: the cache is warm within seconds of start).
public final class EventEnricher: Sendable {
    /// The engine, for callers that need its taxonomy or model details.
    public let engine: InsightEngine
    /// The engine's memory across events (near-duplicate window, alert rules) and recent identifier → keyed
    /// hash (customers come back, and HMAC plus normalisation is a good part of the per-event cost), behind one
    /// lock taken once per request.
    let state: Mutex<State>
    /// Whose turn it is at `state` among the requests (`takeTurn`, `passTurn`).
    let turns = Mutex(Turns())

    struct Turns {
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        var waits = 0

        /// Takes the turn if it is free.
        mutating func take() -> Bool {
            if held { return false }
            held = true
            return true
        }
    }
    let hasher: CustomerIdentifierHasher
    /// Whether this process has recorded its model version in the buffer (before its first commit).
    let versionRecorded = Mutex(false)
    static let keyCacheSize = 65_536
    /// Analysis buffers of finished requests, lent to the next ones: a fresh set per request allocated and first
    /// touched about 100 KiB of token buffers each time (2% of the analysis, measured live). At most
    /// `pooledScratches` are kept, none larger than `pooledScratchBytes`, so that one huge request does not pin
    /// its buffers.
    let scratches = Mutex<[LentScratch]>([])
    static let pooledScratches = 8
    static let pooledScratchBytes = 4 << 20

    /// A request's pooled working memory: the analysis buffers (`InsightScratch`) and the arrays of its inputs and
    /// analyses. The mutex hands it to one request at a time, which alone uses it until it gives it back.
    final class LentScratch: @unchecked Sendable {
        let scratch = InsightScratch()
        /// A request's inputs and analyses, emptied after it: only their capacity carries over.
        var inputs: [InsightInput] = []
        var analyses: [PackedAnalysis] = []

        /// Bytes it holds, to keep a huge request's buffers out of the pool.
        var capacityBytes: Int {
            scratch.capacityBytes + inputs.capacity * MemoryLayout<InsightInput>.stride
                + analyses.capacity * MemoryLayout<PackedAnalysis>.stride
        }
    }

    struct State: Sendable {
        var insight: InsightState
        var customerKeys = CustomerKeyCache(capacity: EventEnricher.keyCacheSize)
    }

    /// Records the model version once per process, before the first enriched event is committed.
    func recordVersion(in store: BufferStore) async throws {
        guard !versionRecorded.withLock({ $0 }) else { return }
        try await store.recordModelVersion(InsightEngine.modelVersion)
        versionRecorded.withLock { $0 = true }
    }

    /// `piiPatterns`: the site's identifier patterns (`pii_patterns`), masked with the built-in kinds;
    /// `defaultCountryCode`: the store's calling code, for national phone numbers (`default_country_code`).
    public init(fleetKey: [UInt8], piiPatterns: [PIIPattern] = [], defaultCountryCode: String? = nil) throws {
        var configuration = InsightConfiguration()
        configuration.piiPatterns = piiPatterns
        configuration.defaultCountryCode = defaultCountryCode
        engine = try InsightEngine(configuration: configuration)
        hasher = try CustomerIdentifierHasher(fleetKey: fleetKey, defaultCountryCode: defaultCountryCode)
        state = Mutex(State(insight: engine.makeState()))
    }

    /// Enriches `events` in place and returns the alerts they raise, in event order.
    public func enrich(_ events: inout [Event]) -> [InsightAlert] {
        var refused: [Int] = []
        return enrich(&events, refusing: ErasedCustomers(), refused: &refused)
    }

    /// `enrich(_:)`, with the positions of the events of `erased` customers in `refused`: those events stay out of
    /// the memory across events (near-duplicates, alert rules), which they would otherwise change for everyone.
    public func enrich(
        _ events: inout [Event], refusing erased: ErasedCustomers, refused: inout [Int], stored: [Int] = []
    ) -> [InsightAlert] {
        let stored = Set(stored)
        var inputs: [InsightInput] = []
        var results: [InsightResult] = []
        inputs.reserveCapacity(events.count)
        results.reserveCapacity(events.count)
        // Alert cooldowns and the near-duplicate window run on ingest time, not event time: a backfill of old
        // events must not re-raise alerts that a live store would have suppressed.
        let now = BufferStore.nowMillis()
        let scratch = InsightScratch()
        for i in events.indices {
            inputs.append(Self.input(events[i], now: now))
            results.append(engine.enrich(inputs[i], scratch: scratch))
        }
        var alerts: [InsightAlert] = []
        state.withLock { state in
            for i in results.indices {
                if let id = events[i].customerID {
                    let key = customerKey(id, cache: &state.customerKeys)
                    results[i].customerKey = key.map { CustomerKey.hex($0) }
                    if let key, erased.contains(key: key) {
                        refused.append(i)
                        continue
                    }
                }
                if stored.contains(i) { continue }
                engine.remember(&results[i], of: inputs[i], state: &state.insight)
                alerts += results[i].alerts
            }
        }
        for i in events.indices {
            events[i].text = results[i].maskedText
            maskAttributes(&events[i].attributes)
            // An identifier that cannot be normalised is dropped rather than stored in the clear.
            if events[i].customerID != nil { events[i].customerID = results[i].customerKey }
            events[i].enrichment = results[i].enrichment
        }
        return alerts
    }

    /// What `enrichPacked` gives beside the events.
    public struct Packed: Sendable {
        /// One per event, in order; phrase ranges refer to the event's (masked) text, themes to
        /// `InsightEngine.themeValues`.
        public var enrichments: [PackedEnrichment]
        /// One per event, in order: the keyed hash of its customer identifier, nil when it had none or one that
        /// cannot be normalised.
        public var customerKeys: [CustomerKey.Halves?]
        /// Alerts raised, in event order.
        public var alerts: [InsightAlert]
        /// Positions of the events whose customers are erased (`enrichPacked(_:refusing:)`), in order.
        public var refused: [Int] = []
    }

    /// `enrich(_:)` without building an `Enrichment` per event: the events get their masked text and lose their
    /// customer identifier, whose keyed hash comes back beside the enrichments, which come back packed for
    /// `EventPayloadEncoder.encode(_:packed:customerKey:)`.
    /// The engine must pack its themes (`InsightEngine.packsThemes`).
    ///
    /// The memory across events is shared by concurrent requests: a request that finds it taken suspends until its
    /// turn comes (`takeTurn`), rather than block its thread. Blocked (Swift's `Mutex` on Linux is a
    /// priority-inheritance futex, which hands the lock over through the kernel), a tenth of the requests waited
    /// 0.25 ms each under the ingest benchmark, a thread of the two-thread pool idle meanwhile.
    ///
    /// Never inlined (one call per request), so that a profile finds all of the enricher's work under this frame and
    /// not, depending on the build, some of it in its caller's (`bench/live-ab.sh` compares builds by it).
    ///
    /// The events of `erased` customers are enriched, but stay out of the memory across events (near-duplicates, alert
    /// rules), which they would otherwise change for everyone; their positions come back in `Packed.refused`.
    @inline(never)
    public func enrichPacked(
        _ events: inout [Event], refusing erased: ErasedCustomers = ErasedCustomers(), stored: [Int] = []
    ) async -> Packed {
        #if CX_BENCH_HOOKS
            if let hooked = await benchHooked(&events) { return hooked }
        #endif
        return await analyzeAndRemember(&events, refusing: erased, stored: stored)
    }

    /// The body of `enrichPacked(_:refusing:stored:)`.
    @inline(__always)
    func analyzeAndRemember(
        _ events: inout [Event], refusing erased: ErasedCustomers = ErasedCustomers(), stored: [Int] = []
    ) async -> Packed {
        var request = analyzePacked(&events)
        request.stored = stored
        await takeTurn()
        // Only a caller outside the turns can hold the memory now: `enrichPackedBlocking`, `enrich(_:)` (events whose
        // themes are not packed) or `apply(_:)` (alert settings from the hub).
        while !remember(&request, &events, erased, blocking: false) { await Task.yield() }
        passTurn()
        return finish(request, &events)
    }

    /// Waits for this request's turn at the memory across events. A request that finds it taken suspends until the
    /// holder passes the turn on, in arrival order. Retried after `Task.yield()` instead, the 6% of requests that
    /// waited under the ingest benchmark tried 50 times each, over 1.2 ms on average, and came back for every try.
    func takeTurn() async {
        if turns.withLock({ $0.take() }) { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let free = turns.withLock { t in
                if t.take() { return true }
                t.waiting.append(c)
                t.waits += 1
                return false
            }
            if free { c.resume() }
        }
    }

    /// Ends this request's turn: the longest-waiting request gets it, still held, or it is free.
    func passTurn() {
        let next = turns.withLock { t -> CheckedContinuation<Void, Never>? in
            guard !t.waiting.isEmpty else {
                t.held = false
                return nil
            }
            return t.waiting.removeFirst()
        }
        next?.resume()
    }

    /// Requests that waited for their turn so far, and how many wait now.
    var turnWaits: (total: Int, now: Int) { turns.withLock { ($0.waits, $0.waiting.count) } }

    /// `enrichPacked(_:)` for a caller without a task (benchmarks): it blocks while another request holds the
    /// memory across events.
    public func enrichPackedBlocking(_ events: inout [Event]) -> Packed {
        var request = analyzePacked(&events)
        _ = remember(&request, &events, ErasedCustomers(), blocking: true)
        return finish(request, &events)
    }

    /// A request between its stages: its lent scratch, inputs and analyses, and what the shared stage found.
    struct PackedRequest {
        let lent: LentScratch
        var inputs: [InsightInput]
        var analyses: [PackedAnalysis]
        var alerts: [InsightAlert] = []
        var keys: [CustomerKey.Halves?]
        /// Positions of the events whose customers are erased.
        var refused: [Int] = []
        /// Positions of the events the buffer already holds (a producer's retry): enriched, but kept out of the
        /// memory across events, like the refused ones.
        var stored: [Int] = []
    }

    /// The stateless analysis of a request, on a scratch lent from the pool.
    func analyzePacked(_ events: inout [Event]) -> PackedRequest {
        let now = BufferStore.nowMillis()
        let lent = scratches.withLock { $0.popLast() } ?? LentScratch()
        // The lent arrays are moved out for the request and back after it (`finish`): a request's two largest
        // allocations, saved. `inputs` is filled and read through buffer pointers: subscripting the array copied
        // every event (a dozen retains each), and so did reading a captured variable in the locked loop.
        var request = PackedRequest(
            lent: lent, inputs: [], analyses: [], keys: Array(repeating: nil, count: events.count))
        swap(&request.inputs, &lent.inputs)
        swap(&request.analyses, &lent.analyses)
        request.inputs.reserveCapacity(events.count)
        events.withUnsafeBufferPointer { buffer in
            for e in buffer { request.inputs.append(Self.input(e, now: now)) }
        }
        engine.analyzePacked(request.inputs, scratch: lent.scratch, into: &request.analyses)
        return request
    }

    /// The stage that needs the memory across events: customer keys, near-duplicates, alert rules. Returns false,
    /// having done nothing, when `blocking` is off and another request holds that memory.
    private func remember(
        _ request: inout PackedRequest, _ events: inout [Event], _ erased: ErasedCustomers, blocking: Bool
    ) -> Bool {
        func run(_ state: inout State) {
            // The keys first, in a loop of their own: their cache lookups are independent of each other, so the
            // processor overlaps their misses (the table is about 1 MiB for 20,000 customers), which the
            // near-duplicate and alert work between them kept it from doing.
            for i in events.indices {
                guard let id = events[i].customerID else { continue }
                // The identifier never stays in the event: its key is stored instead, and one that cannot be
                // normalised (no key) is dropped rather than stored in the clear.
                request.keys[i] = customerKey(id, cache: &state.customerKeys)
                events[i].customerID = nil
            }
            if !erased.isEmpty {
                request.refused = events.indices.filter { request.keys[$0].map(erased.contains(key:)) ?? false }
            }
            guard !request.refused.isEmpty || !request.stored.isEmpty else {
                engine.remember(
                    &request.analyses, of: request.inputs, customerKeys: request.keys, state: &state.insight,
                    alerts: &request.alerts)
                return
            }
            // The others, apart (rare: a customer erased, and one of theirs writes in; a producer's retry).
            let left = Set(request.refused + request.stored)
            let kept = events.indices.filter { !left.contains($0) }
            var analyses = kept.map { request.analyses[$0] }
            engine.remember(
                &analyses, of: kept.map { request.inputs[$0] }, customerKeys: kept.map { request.keys[$0] },
                state: &state.insight, alerts: &request.alerts)
            for (k, i) in kept.enumerated() { request.analyses[i] = analyses[k] }
        }
        if blocking {
            state.withLock { run(&$0) }
            return true
        }
        return state.withLockIfAvailable { run(&$0) } != nil
    }

    /// The packed results of a request, its masked texts put in its events, and its scratch back in the pool.
    func finish(_ request: consuming PackedRequest, _ events: inout [Event]) -> Packed {
        var enrichments: [PackedEnrichment] = []
        enrichments.reserveCapacity(events.count)
        for i in events.indices {
            // Unmasked, the text is the event's own: assigning it back only retained and released it. No count means
            // no change: `PIIMasker.mask` returns its input when it masks nothing.
            if !request.analyses[i].maskedCounts.isEmpty { events[i].text = request.analyses[i].maskedText }
            maskAttributes(&events[i].attributes)
            enrichments.append(request.analyses[i].enrichment)
        }
        let lent = request.lent
        request.inputs.removeAll(keepingCapacity: true)
        request.analyses.removeAll(keepingCapacity: true)
        swap(&request.inputs, &lent.inputs)
        swap(&request.analyses, &lent.analyses)
        if lent.capacityBytes <= Self.pooledScratchBytes {
            scratches.withLock { if $0.count < Self.pooledScratches { $0.append(lent) } }
        }
        return Packed(
            enrichments: enrichments, customerKeys: request.keys, alerts: request.alerts, refused: request.refused)
    }

    /// Masks PII in attribute values as in the text: they are free text too (a POS plugin's `email`, a relay's
    /// `phone`), stored and synced with the event, and raw PII must not reach the buffer through them. Keys are
    /// names chosen by the producer's code, not values, and are kept.
    func maskAttributes(_ attributes: inout [String: String]) {
        guard !attributes.isEmpty else { return }
        engine.maskAttributes(&attributes)
    }

    /// What the engine reads of an event: the customer identifier is hashed apart (under the lock, with its cache),
    /// and alert time is ingest time `now`.
    static func input(_ e: Event, now: Int64) -> InsightInput {
        InsightInput(
            text: e.text, storeID: e.storeID, channel: e.channel.rawValue, customerID: nil, timeMs: now,
            score: e.score?.value, scoreKind: e.score.flatMap { kind($0.scale) },
            event: .uuid(e.eventID))
    }

    /// The keyed hash of a customer identifier, from the cache when the customer came before.
    func customerKey(_ id: String, cache: inout CustomerKeyCache) -> CustomerKey.Halves? {
        cache.key(id) { hasher.key($0) }
    }

    static func kind(_ scale: ScoreScale) -> ScoreKind? {
        switch scale {
        case .nps: .nps
        case .csat: .csat
        case .ces5: .ces5
        case .ces7: .ces
        case .stars: .review
        }
    }

    /// The agent's fleet key: the hub's (from enrollment) or, before enrollment, a key of this box kept in
    /// `fleet.key` (0600), so that identifiers are never stored in the clear.
    public static func fleetKey(credentials: AgentCredentials?, directory: String) throws -> [UInt8] {
        if let key = enrolledFleetKey(credentials) { return key }
        let path = (directory as NSString).appendingPathComponent("fleet.key")
        if let data = FileManager.default.contents(atPath: path), let key = Data(base64Encoded: data), key.count >= 16 {
            return Array(key)
        }
        var key = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in key.indices { key[i] = UInt8.random(in: 0...255, using: &rng) }
        try AgentCredentials.writePrivate(Array(Data(key).base64EncodedString().utf8), to: path)
        return key
    }

    /// The hub's fleet key from enrollment, nil before enrollment (or in credentials without a usable one).
    public static func enrolledFleetKey(_ credentials: AgentCredentials?) -> [UInt8]? {
        guard let text = credentials?.fleetKey, let key = Data(base64Encoded: text), key.count >= 16 else { return nil }
        return Array(key)
    }
}
