#if CX_BENCH_HOOKS
    import CXCore
    import CXInsight
    import Foundation
    import Synchronization
    #if canImport(Glibc)
        import Glibc
    #endif

    /// Stand-ins for the enrichment that only `bench/side-effects.sh` builds (`-Xswiftc -DCX_BENCH_HOOKS`, its own
    /// scratch path): they split what enrichment costs the live agent into the analysis's own CPU time and what it
    /// does to the rest of the agent. Release builds have none of this.
    ///
    /// - `CX_BENCH_SPIN_NS=N`: no analysis; the request's thread spins for N ns of its own CPU time per event and the
    ///   events are stored as posted (a stand-in with the analysis's CPU time and no footprint).
    /// - `CX_BENCH_DISCARD=1`: the full analysis, whose results are then dropped: the events are stored with their
    ///   customer identifiers and without scores or alerts (their texts stay masked, which changes few of them): the
    ///   analysis's live cost without what storing its results costs.
    /// - `CX_BENCH_DISCARD=stateless`: the same without the stage that needs the memory across events (customer keys,
    ///   near-duplicates, alert rules) and its lock.
    /// - `CX_BENCH_DISCARD=alerts`: enriched as shipped, but the alerts raised are dropped instead of stored: what
    ///   storing them costs.
    /// - `CX_BENCH_DISCARD=rules`: enriched as shipped, with every alert rule off (as the hub's
    ///   `alert_rules_disabled` can set them): what the rules and their alerts cost.
    extension EventEnricher {
        enum BenchHook {
            case none
            case spin(nanosecondsPerEvent: Int)
            case discard(stateless: Bool)
            case discardAlerts
            case noRules
        }

        static let benchHook: BenchHook = {
            let environment = ProcessInfo.processInfo.environment
            if let text = environment["CX_BENCH_SPIN_NS"], let nanos = Int(text), nanos > 0 {
                return .spin(nanosecondsPerEvent: nanos)
            }
            guard let discard = environment["CX_BENCH_DISCARD"] else { return .none }
            if discard == "alerts" { return .discardAlerts }
            if discard == "rules" { return .noRules }
            return .discard(stateless: discard == "stateless")
        }()

        /// The stand-in's result, or nil to enrich as usual.
        func benchHooked(_ events: inout [Event]) async -> Packed? {
            switch Self.benchHook {
            case .none:
                return nil
            case .spin(let nanos):
                let end = Self.threadCPUNanoseconds() + nanos * events.count
                while Self.threadCPUNanoseconds() < end {}
                return Self.unenriched(events.count)
            case .discard(let stateless):
                let customers = events.map(\.customerID)
                if stateless {
                    _ = finish(analyzePacked(&events), &events)
                } else {
                    _ = await analyzeAndRemember(&events)
                }
                for i in events.indices { events[i].customerID = customers[i] }
                return Self.unenriched(events.count)
            case .discardAlerts:
                var packed = await analyzeAndRemember(&events)
                packed.alerts = []
                return packed
            case .noRules:
                if !Self.rulesDropped.exchange(true, ordering: .relaxed) {
                    var settings = HubAlertSettings(entries: [], storeID: "")
                    settings.disabledRules = Set(AlertRule.defaults.map(\.id))
                    apply(settings)
                }
                return await analyzeAndRemember(&events)
            }
        }

        /// Whether `CX_BENCH_DISCARD=rules` has switched the rules off (before the first request's analysis).
        static let rulesDropped = Atomic<Bool>(false)

        /// Results that store `count` events as posted: no scores, no keys, no alerts.
        static func unenriched(_ count: Int) -> Packed {
            let none = PackedEnrichment(sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0))
            return Packed(
                enrichments: Array(repeating: none, count: count), customerKeys: Array(repeating: nil, count: count),
                alerts: [])
        }

        /// CPU time of the calling thread: a spin measured by it costs the same CPU whether or not it is preempted.
        /// Not `getrusage(RUSAGE_THREAD)`, as cx-bench's `CPUTime.thread()`: its times move in coarse steps, and a spin
        /// of a few hundred microseconds measured by it ran seven times too long.
        static func threadCPUNanoseconds() -> Int {
            // A `timespec` is two words on Linux; this target cannot name its initializer or fields (Swift's member
            // import visibility places them in a module it does not import), so it passes the words' memory.
            var time: (seconds: Int, nanoseconds: Int) = (0, 0)
            withUnsafeMutableBytes(of: &time) {
                _ = clock_gettime(CLOCK_THREAD_CPUTIME_ID, $0.baseAddress!.assumingMemoryBound(to: timespec.self))
            }
            return time.seconds * 1_000_000_000 + time.nanoseconds
        }
    }
#endif
