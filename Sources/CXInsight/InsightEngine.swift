import CXCore

/// Everything the engine can be configured with; `default` uses the bundled lexicon, rules and taxonomy.
public struct InsightConfiguration: Sendable {
    /// Theme taxonomy; nil means the bundled retail taxonomy.
    public var taxonomy: ThemeTaxonomy?
    /// Intent rules in the `kind<TAB>pattern` format; nil means the bundled rules.
    public var intentRulesText: String?
    /// Extra identifier patterns to mask (loyalty numbers, member ids...).
    public var piiPatterns: [PIIPattern] = []
    /// Local alert rules; defaults follow DESIGN.md §5.
    public var alertRules: [AlertRule] = AlertRule.defaults
    /// Data-quality thresholds (near-duplicate window, spam score, bot timing).
    public var quality = QualityAnalyzer.Configuration()
    /// Fleet key for customer-identifier hashing; nil disables hashing (`customerKey` stays nil).
    public var fleetKey: [UInt8]?
    /// Country calling code for national phone numbers (e.g. "44"), used before hashing.
    public var defaultCountryCode: String?
    /// A text with no complaint rule hit still counts as a complaint at or below this compound.
    public var complaintSentimentThreshold: Double = -0.45
    /// A text with no praise rule hit still counts as praise at or above this compound.
    public var praiseSentimentThreshold: Double = 0.6
    /// Valence (VADER scale) added when a complaint or churn rule fires on a text that the lexicon
    /// alone scores neutral or positive: "charged twice" is negative even without emotional words.
    public var complaintPrior: Double = -1.6

    public init() {}

    /// Bundled lexicon, rules and taxonomy; no hashing; default alert rules.
    public static var `default`: InsightConfiguration { InsightConfiguration() }
}

/// One event to enrich: the text plus the few fields alert rules and hashing need.
public struct InsightInput: Sendable {
    /// The text (raw for inputs; masked for results).
    public var text: String?
    /// Event id, carried into alerts so operators can open the event.
    public var eventID: String {
        get { event.string }
        set { event = .text(newValue) }
    }
    /// The same, formatted only when an alert needs it.
    public var event: EventReference
    /// Store the event belongs to; alerts and spike windows are per store.
    public var storeID: String
    /// Channel (kiosk, pos, web, chat, email, social...), for channel-scoped de-duplication.
    public var channel: String?
    /// Raw customer identifier (loyalty id, e-mail, phone); hashed, never returned.
    public var customerID: String?
    /// Kind of `customerID` when known; guessed from its shape otherwise.
    public var customerIDKind: CustomerIdentifierHasher.Kind?
    /// Event time, epoch milliseconds (used by the near-duplicate window and the alert rules).
    public var timeMs: Int64
    /// Survey or review score, if the event carries one, as given (fractional scores are compared as they are).
    public var score: Double?
    /// Which scale `score` is on.
    public var scoreKind: ScoreKind?
    /// Time the respondent took, when the channel knows it (bot heuristic).
    public var responseTimeMs: Int?
}

// In an extension, so that the struct keeps its memberwise initialiser: built property by property, this one copied
// the whole input into its result and destroyed the original (a dozen retains and releases, for every enriched event);
// the memberwise one builds it in place.
extension InsightInput {
    public init(
        text: String?, eventID: String = "", storeID: String = "", channel: String? = nil, customerID: String? = nil,
        customerIDKind: CustomerIdentifierHasher.Kind? = nil, timeMs: Int64 = 0, score: Double? = nil,
        scoreKind: ScoreKind? = nil, responseTimeMs: Int? = nil, event: EventReference? = nil
    ) {
        self.init(
            text: text, event: event ?? .text(eventID), storeID: storeID, channel: channel, customerID: customerID,
            customerIDKind: customerIDKind, timeMs: timeMs, score: score, scoreKind: scoreKind,
            responseTimeMs: responseTimeMs)
    }
}

/// The outcome of enriching one event: what to store beside it and what to alert on.
public struct InsightResult: Sendable {
    /// Scores, intents, themes, flags, language and model version to store beside the event.
    public var enrichment: Enrichment
    /// The text with personal data replaced by tokens; nil when the input had no text. Store this,
    /// never the raw text.
    public var maskedText: String?
    /// Masked spans by kind (`email`, `phone`, `card`, `iban`, `ip`, or a configured pattern name).
    public var maskedCounts: [String: Int]
    /// Keyed hash of the customer identifier (nil without a fleet key or identifier).
    public var customerKey: String?
    /// Alerts raised by this event (only from `enrich(_:state:)`).
    public var alerts: [InsightAlert]
    /// SimHash of the text (0 when too short), for callers that de-duplicate elsewhere.
    public var fingerprint: UInt64
}

/// The per-agent memory of the engine: near-duplicate window and alert state machine.
///
/// A value type: the agent keeps one (e.g. inside its ingest actor), passes it `inout`, and may
/// persist or reset it; the engine itself stays immutable and shareable across threads.
public struct InsightState: Sendable {
    /// Near-duplicate memory.
    public var duplicates: NearDuplicateWindow
    /// Alert rule state (cooldowns, spike windows).
    public var alerts: AlertRuleEngine
    /// What `NearDuplicateWindow.warm` read, kept so that its loads are not optimised away.
    var warmed = 0
    /// The latest time the stateful stage used: its clock never goes back. Concurrent requests take their time when
    /// their analysis starts but reach this stage in turn, and one analysed earlier could come after one analysed
    /// later: its earlier time passed every cooldown (an alert raised twice in milliseconds) and dropped the newer
    /// events from the spike windows (a spike lost). A wall clock stepped back (NTP) did the same.
    public internal(set) var clockMillis: Int64 = .min

    /// `timeMs`, or the stage's clock when that is later, by at most `maxHoldMillis`; the clock moves to the result.
    /// A step back beyond that (a box that ran ahead until NTP set it right) starts the clock again from `timeMs`:
    /// held there, every cooldown and window would stand still until the wall clock caught up.
    @inline(__always) mutating func tick(_ timeMs: Int64) -> Int64 {
        if timeMs > clockMillis || clockMillis - timeMs > Self.maxHoldMillis { clockMillis = timeMs }
        return clockMillis
    }

    /// How far back the clock holds: requests reordered by their turns differ by milliseconds; NTP steps are larger.
    static let maxHoldMillis: Int64 = 300_000
    /// Recently hashed customer identifiers (bounded; customers come back, HMAC is not free).
    var customerKeys: [CustomerCacheKey: String] = [:]
    struct CustomerCacheKey: Hashable, Sendable {
        var kind: CustomerIdentifierHasher.Kind?
        var id: String
    }
    static let customerKeyCacheSize = 32_768

    public init(configuration: InsightConfiguration = .default) {
        duplicates = NearDuplicateWindow(
            capacity: configuration.quality.duplicateWindowCapacity,
            windowSeconds: configuration.quality.duplicateWindowSeconds,
            maxDistance: configuration.quality.maxHammingDistance)
        alerts = AlertRuleEngine(rules: configuration.alertRules)
    }
}

/// Offline text understanding for the edge agent: sentiment, intents, themes, PII masking,
/// customer-identifier hashing, data quality and local alert rules, in one pass over the text.
///
/// Immutable after `init` (which parses the bundled data files once), `Sendable`, no I/O afterwards:
/// build one per process and call it from any thread.
public struct InsightEngine: Sendable {
    /// Version of the code and of its lexicon; every enrichment records it.
    public static let modelVersion = "cxinsight-1.31.0+lexicon-2024.12-cx20"

    /// Immutable parts behind one reference, so that copying the engine (into closures, tasks,
    /// actors) costs one retain instead of one per table.
    final class Core: Sendable {
        let configuration: InsightConfiguration
        let lexicon: SentimentLexicon
        let intents: IntentDetector
        let themes: ThemeTagger
        let masker: PIIMasker
        let quality: QualityAnalyzer
        let hasher: CustomerIdentifierHasher?
        let scorer: SentimentScorer
        let vocabulary: Vocabulary
        /// What the masker writes in place of personal data, built-in and configured (`maskPlaceholders`).
        let maskTokens: [[UInt8]]

        init(_ configuration: InsightConfiguration) throws {
            self.configuration = configuration
            lexicon = try SentimentLexicon.bundled()
            var det =
                try configuration.intentRulesText.map { try IntentDetector(rulesText: $0) } ?? IntentDetector.bundled()
            det.complaintSentimentThreshold = configuration.complaintSentimentThreshold
            det.praiseSentimentThreshold = configuration.praiseSentimentThreshold
            intents = det
            themes = ThemeTagger(taxonomy: try configuration.taxonomy ?? ThemeTaxonomy.bundledDefault())
            masker = PIIMasker(patterns: configuration.piiPatterns)
            maskTokens = Set(PIIKind.allCases.map(\.token) + configuration.piiPatterns.map(\.token)).map {
                Array($0.utf8)
            }
            quality = QualityAnalyzer(configuration: configuration.quality)
            hasher = try configuration.fleetKey.map {
                try CustomerIdentifierHasher(fleetKey: $0, defaultCountryCode: configuration.defaultCountryCode)
            }
            scorer = SentimentScorer(lexicon: lexicon)
            var vocabulary = Vocabulary()
            try vocabulary.add(lexicon.table, .lexicon)
            try vocabulary.add(intents.heads, .intentHead)
            try vocabulary.add(IntentDetector.numberWords, .numberWord)
            try vocabulary.add(intents.cueWords, .cueWord)
            try vocabulary.add(intents.cueHeads, .cueHead)
            try vocabulary.add(themes.words, .themeWord)
            try vocabulary.add(themes.phraseHeads, .themeHead)
            try vocabulary.add(quality.combined, .quality)
            self.vocabulary = vocabulary
        }
    }
    let core: Core

    /// The configuration it was built with.
    public var configuration: InsightConfiguration { core.configuration }
    /// The sentiment lexicon in use.
    public var lexicon: SentimentLexicon { core.lexicon }
    /// The intent rules in use.
    public var intents: IntentDetector { core.intents }
    /// The theme tagger in use.
    public var themes: ThemeTagger { core.themes }
    /// The PII masker in use.
    public var masker: PIIMasker { core.masker }
    /// The data-quality analyser in use.
    public var quality: QualityAnalyzer { core.quality }
    /// Customer-identifier hasher (nil without a fleet key).
    public var hasher: CustomerIdentifierHasher? { core.hasher }
    var scorer: SentimentScorer { core.scorer }

    public init(configuration: InsightConfiguration = .default) throws {
        core = try Core(configuration)
    }

    /// A fresh state for `enrich(_:state:)` with this engine's configuration.
    public func makeState() -> InsightState { InsightState(configuration: configuration) }

    /// Sentiment alone (the lexicon and its rules, no intent prior).
    public func sentiment(_ text: String) -> Enrichment.Sentiment {
        let core = self.core
        var t = text
        return t.withUTF8 { buf in
            withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: toks, stats: &st)
                Tokenizer.unstretch(
                    buf, UnsafeMutableBufferPointer(rebasing: toks[0..<n]), known: core.vocabulary.contains)
                return core.scorer.score(toks, n, st).sentiment
            }
        }
    }

    /// Enrichment without memory: no near-duplicate check and no alerts.
    public func enrich(_ input: InsightInput) -> InsightResult {
        analyze(input)
    }

    /// `enrich(_:)` with reusable working memory: a caller enriching a batch passes one scratch for all of it.
    public func enrich(_ input: InsightInput, scratch: InsightScratch) -> InsightResult {
        analyze(input, scratch: scratch)
    }

    /// Full enrichment: also checks near-duplicates and runs the alert rules, updating `state`.
    public func enrich(_ input: InsightInput, state: inout InsightState) -> InsightResult {
        var r = analyze(input, hashCustomer: false)
        // The hasher (its key and tables) is copied only to hash a customer seen for the first time.
        if core.hasher != nil, let id = input.customerID {
            let cacheKey = InsightState.CustomerCacheKey(kind: input.customerIDKind, id: id)
            if let k = state.customerKeys[cacheKey] {
                r.customerKey = k
            } else if let h = core.hasher {
                r.customerKey = input.customerIDKind.map { h.hash(id, kind: $0) } ?? h.hash(id)
                if state.customerKeys.count >= InsightState.customerKeyCacheSize {
                    state.customerKeys.removeAll(keepingCapacity: true)
                }
                state.customerKeys[cacheKey] = r.customerKey
            }
        }
        remember(&r, of: input, state: &state)
        return r
    }

    /// The stateful half of `enrich(_:state:)`: the near-duplicate check and the alert rules, over a result
    /// of the stateless `enrich(_:)`. Callers analyse many events in parallel and serialise only this step.
    public func remember(_ result: consuming InsightResult, of input: InsightInput, state: inout InsightState)
        -> InsightResult
    {
        var r = result
        remember(&r, of: input, state: &state)
        return r
    }

    /// `remember(_:of:state:)` in place, without copying the result (its arrays and strings) in and out.
    public func remember(_ r: inout InsightResult, of input: InsightInput, state: inout InsightState) {
        withUnsafePointer(to: input) { input in
            let now = state.tick(input.pointee.timeMs)
            let duplicate = state.duplicates.check(r.fingerprint, at: now, event: input.pointee.event.tag)
            if duplicate { r.enrichment.flags.append("near_duplicate") }
            let suppressed = duplicate || r.enrichment.flags.contains { $0 == "bot" || $0 == "spam" }
            r.alerts = alerts(
                of: input, at: now, customerKey: r.customerKey, compound: r.enrichment.sentiment.compound,
                intents: KindSet(r.enrichment.intents.lazy.map(\.kind)), suppressed: suppressed, state: &state)
        }
    }

    /// `remember(_:of:state:)` for the results of `analyzePacked`, a request at a time, in order: flags the
    /// near-duplicates in `analyses` and appends the alerts the events raise to `alerts`. `customerKeys` holds each
    /// event's customer key (nil for none), read only for an event that matches a customer-scoped rule.
    public func remember(
        _ analyses: inout [PackedAnalysis], of inputs: [InsightInput], customerKeys: [CustomerKey.Halves?],
        state: inout InsightState, alerts: inout [InsightAlert]
    ) {
        for i in analyses.indices { state.warmed ^= state.duplicates.warm(analyses[i].fingerprint) }
        inputs.withUnsafeBufferPointer { inputs in
            for i in analyses.indices {
                let raised = remember(
                    &analyses[i], customerKey: customerKeys[i], of: inputs.baseAddress! + i, state: &state)
                if !raised.isEmpty { alerts += raised }
            }
        }
    }

    /// One event of the batch `remember`; `customerKey` is read only when the event matches a customer-scoped rule.
    ///
    /// The input is read where it lies, a field at a time, and the fields an alert keeps are copied only for an
    /// alert: passed by value from an array or buffer, which the compiler could not prove unchanged by the call,
    /// the whole input was copied for every event (a dozen retains and releases), inside the agent's lock.
    private func remember(
        _ analysis: inout PackedAnalysis, customerKey: CustomerKey.Halves?, of input: UnsafePointer<InsightInput>,
        state: inout InsightState
    ) -> [InsightAlert] {
        let now = state.tick(input.pointee.timeMs)
        if state.duplicates.check(analysis.fingerprint, at: now, event: input.pointee.event.tag) {
            analysis.enrichment.flags.insert(.nearDuplicate)
        }
        // read in place: a copy of the enrichment retained and released its language string
        return alerts(
            of: input, at: now, customerKey: nil, customerHalves: customerKey,
            compound: analysis.enrichment.sentiment.compound,
            intents: KindSet(bits: analysis.enrichment.intentBits),
            suppressed: !analysis.enrichment.flags.isDisjoint(with: [.nearDuplicate, .bot, .spam]),
            state: &state)
    }

    /// The alerts an event raises; its customer is `customerHalves` when the caller holds the key's bytes (the
    /// agent), else `customerKey`.
    private func alerts(
        of input: UnsafePointer<InsightInput>, at now: Int64, customerKey: String?,
        customerHalves: CustomerKey.Halves? = nil,
        compound: Double, intents: KindSet, suppressed: Bool,
        state: inout InsightState
    ) -> [InsightAlert] {
        let signals = AlertRuleEngine.Signals(
            compound: compound, intentBits: intents, score: input.pointee.score, scoreKind: input.pointee.scoreKind)
        guard let matched = state.alerts.match(signals, suppressed: suppressed, nowMs: now) else {
            return []
        }
        let needsCustomer = state.alerts.needsCustomer(matched)
        var event = AlertEvent(
            event: input.pointee.event, storeID: input.pointee.storeID, channel: input.pointee.channel,
            customerKey: needsCustomer && customerHalves == nil ? customerKey : nil, timeMs: now,
            compound: compound, score: input.pointee.score,
            scoreKind: input.pointee.scoreKind, suppressed: suppressed)
        if needsCustomer, let h = customerHalves { event.customerHalves = .init(high: h.0, low: h.1) }
        event.intentBits = intents
        return state.alerts.raise(event, matched)
    }

    @inline(__always) static func rank(_ k: Enrichment.Intent.Kind) -> Int {
        switch k {
        case .complaint: 0
        case .refund: 1
        case .cancellation: 2
        case .praise: 3
        case .question: 4
        }
    }

    private func analyze(_ input: InsightInput, hashCustomer: Bool = true, scratch: InsightScratch? = nil)
        -> InsightResult
    {
        let core = self.core
        var customerKey: String? = nil
        if hashCustomer, let h = core.hasher, let id = input.customerID {
            customerKey = input.customerIDKind.map { h.hash(id, kind: $0) } ?? h.hash(id)
        }
        var list: [Enrichment.Theme] = []
        let a = analyzePacked(input.text, responseTimeMs: input.responseTimeMs, scratch: scratch, themeList: &list)
        var enrichment = a.enrichment.enrichment(
            text: a.maskedText, modelVersion: Self.modelVersion, taxonomy: core.themes.values)
        if !core.themes.fitsThemeSet { enrichment.themes = list }
        return InsightResult(
            enrichment: enrichment, maskedText: a.maskedText, maskedCounts: a.maskedCounts,
            customerKey: customerKey, alerts: [], fingerprint: a.fingerprint)
    }

    /// The stateless analysis of `enrich(_:scratch:)` without building an `Enrichment`: intents as byte ranges of
    /// the masked text, themes as taxonomy positions (`themes.values`). The agent's ingest path encodes this
    /// straight into the stored payload.
    public func analyzePacked(_ input: InsightInput, scratch: InsightScratch) -> PackedAnalysis {
        var list: [Enrichment.Theme] = []
        return analyzePacked(input.text, responseTimeMs: input.responseTimeMs, scratch: scratch, themeList: &list)
    }

    /// Whether `analyzePacked` can hold every theme of the taxonomy (at most 256 values).
    public var packsThemes: Bool { core.themes.fitsThemeSet }

    /// The taxonomy's values in order: what `PackedEnrichment.themes` positions refer to.
    public var themeValues: [Enrichment.Theme] { core.themes.values }

    /// The analysis; with a taxonomy too large for a theme set, the themes go to `themeList` instead.
    private func analyzePacked(
        _ text: String?, responseTimeMs: Int?, scratch: InsightScratch?, themeList: inout [Enrichment.Theme]
    ) -> PackedAnalysis {
        let core = self.core
        var a = masked(text)
        guard var t = a.maskedText, !t.isEmpty else { return a }
        t.withUTF8 { buf in
            func run(_ room: UnsafeMutableBufferPointer<Token>) {
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: room, stats: &st)
                let toks = UnsafeMutableBufferPointer(rebasing: room[0..<n])
                Tokenizer.unstretch(buf, toks, known: core.vocabulary.contains)
                core.vocabulary.resolve(toks, n)
                if !a.maskedCounts.isEmpty { core.maskPlaceholders(buf, toks) }
                var scored = core.scorer.score(toks, n, st)
                decide(buf, toks, st, &scored, &a.enrichment)
                tagThemes(toks, &a.enrichment, list: &themeList)
                checkQuality(buf, toks, st, scored, responseTimeMs, &a)
            }
            let capacity = Tokenizer.capacity(buf.count)
            if let scratch {
                scratch.reserveTokens(capacity, keeping: 0)
                run(UnsafeMutableBufferPointer(rebasing: scratch.tokens[0..<capacity]))
            } else {
                withUnsafeTemporaryAllocation(of: Token.self, capacity: capacity, run)
            }
        }
        return a
    }

    /// The first stage: the text with personal data masked, and nothing else yet.
    private func masked(_ text: String?) -> PackedAnalysis {
        let p = PackedEnrichment(sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0))
        guard let raw = text, !raw.isEmpty else {
            return PackedAnalysis(maskedText: text, maskedCounts: [:], enrichment: p, fingerprint: 0)
        }
        var masked = core.masker.mask(raw)
        if !masked.counts.isEmpty { masked.text = Self.fitted(masked.text) }
        var a = PackedAnalysis(maskedText: masked.text, maskedCounts: masked.counts, enrichment: p, fingerprint: 0)
        if !masked.counts.isEmpty { a.enrichment.flags.insert(.piiMasked) }
        return a
    }

    /// A text with its personal data masked and cut to the wire's limit, as the enrichment stores it; nothing else of
    /// the analysis. For events stored without enrichment, before they leave the box.
    public func maskedText(_ text: String) -> String {
        let masked = core.masker.mask(text)
        return masked.counts.isEmpty ? text : Self.fitted(masked.text)
    }

    /// Most Unicode scalars of an event's text on the wire.
    static let maxTextScalars = EventLimits().maxTextLength
    /// Most UTF-8 bytes of an attribute value on the wire.
    static let maxAttributeValueBytes = EventLimits().maxAttributeValueLength

    /// An attribute value with its personal data masked as a text's is, cut like a text (`fitted`) but to the
    /// wire's limit in bytes, on a character boundary; nil when it holds nothing to mask.
    public func maskedAttributeValue(_ value: String, name: String? = nil) -> String? {
        let masked = core.masker.mask(value)
        guard !masked.counts.isEmpty else { return nil }
        // a bare number under an identifier's name ("sku": "4155552671") is that identifier; a card number is not
        if let name, masked.counts.keys.allSatisfy({ $0 == PIIKind.phone.rawValue }),
            value.utf8.allSatisfy(PIIMasker.isDigit), PIIMasker.namesIdentifier(name)
        {
            return nil
        }
        let text = masked.text
        guard text.utf8.count > Self.maxAttributeValueBytes else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: Self.maxAttributeValueBytes)
        while end.samePosition(in: text) == nil { end = text.utf8.index(before: end) }
        return String(text[..<end])
    }

    /// Masks every attribute value as `maskedAttributeValue` does; keys are names chosen by the producer's code, not
    /// values, and are kept. A name says what a bare value is: `{"phone": "4155552671"}` holds a phone number that
    /// no text rule would mask without its context, so such a value is replaced whole (`personalAttributeKind`).
    public func maskAttributes(_ attributes: inout [String: String]) {
        for (name, value) in attributes {
            if let masked = maskedAttributeValue(value, name: name) {
                attributes[name] = masked
            } else if let kind = PIIMasker.personalAttributeKind(name: name, value: value) {
                attributes[name] = kind.token
            }
        }
    }

    /// A masked text cut to the wire's limit: a mask can be longer than what it replaces (`::1` becomes `[IP]`), and
    /// a text over the limit would have the hub refuse every batch that carries it, stalling the agent's sync. The
    /// analysis runs on the cut text, so that its phrase ranges stay inside it.
    static func fitted(_ text: String) -> String {
        guard text.utf8.count > maxTextScalars, text.unicodeScalars.count > maxTextScalars else { return text }
        let end = text.unicodeScalars.index(text.unicodeScalars.startIndex, offsetBy: maxTextScalars)
        return String(text.unicodeScalars[..<end])
    }

    /// The themes stage: into the enrichment's theme set, or into `list` when the taxonomy does not fit one.
    @inline(__always)
    private func tagThemes(
        _ toks: UnsafeMutableBufferPointer<Token>, _ p: inout PackedEnrichment,
        list: inout [Enrichment.Theme]
    ) {
        let problem = Self.statesProblem(p)
        if core.themes.fitsThemeSet {
            p.themes = core.themes.tagSet(toks, toks.count, problem: problem)
        } else {
            list = core.themes.tag(toks, toks.count, problem: problem)
        }
    }

    /// Whether a text states a problem, which a `problemOnly` theme value (a severity) needs: a complaint, refund
    /// or cancellation intent, or a negative sentiment.
    @inline(__always)
    static func statesProblem(_ p: PackedEnrichment) -> Bool {
        p.hasIntent(.complaint) || p.hasIntent(.refund) || p.hasIntent(.cancellation) || p.sentiment.compound <= -0.05
    }

    /// The data-quality stage: language, bot and spam flags, and the fingerprint for the near-duplicate window.
    @inline(__always)
    private func checkQuality(
        _ buf: UnsafeBufferPointer<UInt8>, _ toks: UnsafeMutableBufferPointer<Token>, _ st: TextStats,
        _ scored: SentimentScorer.Scored, _ responseTimeMs: Int?,
        _ a: inout PackedAnalysis
    ) {
        let q = core.quality.analyze(
            buf, toks, toks.count, st, englishHits: scored.lexiconHits, responseTimeMs: responseTimeMs)
        a.enrichment.language = q.language.language
        a.enrichment.languageConfidence = q.language.confidence
        if q.bot { a.enrichment.flags.insert(.bot) }
        // A complaint, refund request or churn threat is a customer, whatever promotion it quotes ("the promo code
        // from https://… did not work", "the free delivery offer did not apply"): flagged spam, it raised no alert.
        let customer = KindSet(bits: a.enrichment.intentBits)
        if q.spam && !(customer.contains(.complaint) || customer.contains(.refund) || customer.contains(.cancellation))
        {
            a.enrichment.flags.insert(.spam)
        }
        if let l = q.language.language, l != "en", q.language.confidence >= 0.5 {
            a.enrichment.flags.insert(.nonEnglish)
        }
        a.fingerprint = q.fingerprint
    }

    /// `analyzePacked(_:scratch:)` of each input, in order, with the same results. The texts go through each
    /// stage together (masking, tokenising, scoring, intents, themes, quality): the analysers' code is larger than
    /// the core's instruction cache, and running one text through all of it in turn refetched most of it per text.
    public func analyzePacked(_ inputs: [InsightInput], scratch: InsightScratch) -> [PackedAnalysis] {
        var out: [PackedAnalysis] = []
        analyzePacked(inputs, scratch: scratch, into: &out)
        return out
    }

    /// The batch `analyzePacked(_:scratch:)` (of `[InsightInput]`) into `out`, which is emptied first and keeps its
    /// capacity: a caller that reuses one array saves a large allocation per batch.
    public func analyzePacked(_ inputs: [InsightInput], scratch: InsightScratch, into out: inout [PackedAnalysis]) {
        out.removeAll(keepingCapacity: true)
        inputs.withUnsafeBufferPointer { inputs in
            scratch.withBatchArrays(inputs.count) { b in
                analyzeStaged(inputs, scratch, &out, &b.byteStart, &b.tokenStart, &b.stats, &b.scored)
            }
        }
    }

    private func analyzeStaged(
        _ inputs: UnsafeBufferPointer<InsightInput>, _ scratch: InsightScratch, _ out: inout [PackedAnalysis],
        _ byteStart: inout [Int], _ tokenStart: inout [Int], _ stats: inout [TextStats],
        _ scored: inout [SentimentScorer.Scored]
    ) {
        // Through the core, not local copies: each of these structs holds several arrays, and copying them cost
        // dozens of retains and releases per event.
        let core = self.core
        let count = inputs.count
        out.reserveCapacity(count)
        // The masked texts side by side, and their tokens side by side: text i is bytes[byteStart[i]..<byteStart[i
        // + 1]], its tokens toks[tokenStart[i]..<tokenStart[i + 1]] (positions relative to its own bytes).
        for i in 0..<count {
            out.append(masked(inputs[i].text))
            byteStart[i + 1] = byteStart[i] + (out[i].maskedText?.utf8.count ?? 0)
        }
        let totalBytes = byteStart[count]
        guard totalBytes > 0 else { return }
        scratch.withBytes(totalBytes) { bytes in
            for i in 0..<count where byteStart[i + 1] > byteStart[i] {
                var t = out[i].maskedText!
                t.withUTF8 { src in
                    _ = UnsafeMutableBufferPointer(rebasing: bytes[byteStart[i]..<byteStart[i + 1]]).initialize(
                        fromContentsOf: src)
                }
            }
            let bytes = UnsafeBufferPointer(bytes)
            func text(_ i: Int) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: bytes[byteStart[i]..<byteStart[i + 1]])
            }
            // tokenise: a text may need up to `Tokenizer.capacity` tokens past the previous ones; customer
            // texts average a token per five bytes
            scratch.reserveTokens(totalBytes / 4 + 2 * count + 64, keeping: 0)
            for i in 0..<count {
                let buf = text(i)
                guard !buf.isEmpty else {
                    tokenStart[i + 1] = tokenStart[i]
                    continue
                }
                let end = tokenStart[i] + Tokenizer.capacity(buf.count)
                scratch.reserveTokens(end, keeping: tokenStart[i])
                let room = UnsafeMutableBufferPointer(rebasing: scratch.tokens[tokenStart[i]..<end])
                let n = Tokenizer.tokenize(buf, into: room, stats: &stats[i])
                tokenStart[i + 1] = tokenStart[i] + n
                Tokenizer.unstretch(
                    buf, UnsafeMutableBufferPointer(rebasing: room[0..<n]), known: core.vocabulary.contains)
            }
            let all = scratch.tokens
            core.vocabulary.resolve(all, tokenStart[count])
            func tokens(_ i: Int) -> UnsafeMutableBufferPointer<Token> {
                UnsafeMutableBufferPointer(rebasing: all[tokenStart[i]..<tokenStart[i + 1]])
            }
            for i in 0..<count where !out[i].maskedCounts.isEmpty { core.maskPlaceholders(text(i), tokens(i)) }
            for i in 0..<count {
                let toks = tokens(i)
                scored.append(core.scorer.score(toks, toks.count, stats[i]))
            }
            for i in 0..<count where byteStart[i + 1] > byteStart[i] {
                decide(text(i), tokens(i), stats[i], &scored[i], &out[i].enrichment)
            }
            // Without a theme set the packed form has no themes (`packsThemes`).
            for i in 0..<count where core.themes.fitsThemeSet && byteStart[i + 1] > byteStart[i] {
                let toks = tokens(i)
                out[i].enrichment.themes = core.themes.tagSet(
                    toks, toks.count, problem: Self.statesProblem(out[i].enrichment))
            }
            for i in 0..<count where byteStart[i + 1] > byteStart[i] {
                checkQuality(text(i), tokens(i), stats[i], scored[i], inputs[i].responseTimeMs, &out[i])
            }
        }
    }

    /// Intents of one text and the sentiment they imply: rule hits, then the complaint, praise and question
    /// inferences that weigh the lexicon score against them.
    private func decide(
        _ buf: UnsafeBufferPointer<UInt8>, _ toks: UnsafeMutableBufferPointer<Token>, _ st: TextStats,
        _ scored: inout SentimentScorer.Scored, _ p: inout PackedEnrichment
    ) {
        let core = self.core
        let n = toks.count
        // The scorer marked negations and positive words (`Token.negator`, `Token.positive`) as it looked them up.
        // Phrases are byte ranges of the masked text: tokens s..<e.
        func set(_ kind: Enrichment.Intent.Kind, _ s: Int, _ e: Int) {
            p.setIntent(kind, start: Int(toks[s].start), end: Int(toks[e - 1].end))
        }
        var kinds = KindSet()
        var complaint = 0..<0
        var praiseStart = -1
        core.intents.hits(toks, n, questionMark: st.questions > 0) { h in
            set(h.kind, h.start, h.end)
            kinds.insert(h.kind)
            if h.kind == .complaint { complaint = h.start..<h.end }
            if h.kind == .praise { praiseStart = h.start }
        }
        // Praise set against the problem it introduces is irony ("Great, another cancelled flight"): its words are
        // scored again as such, and it is no praise. Only a text with a positive word can hold it.
        func ironize(_ problem: Range<Int>) {
            guard scored.mostPositive >= 0 else { return }
            var irony = problem.isEmpty ? nil : Irony.span(toks, n, complaint: problem)
            if irony == nil, let not = Irony.closingNot(toks, n) {
                irony = not
                if !kinds.contains(.complaint) {
                    set(.complaint, not.lowerBound, not.upperBound)
                    kinds.insert(.complaint)
                }
            }
            guard let irony else { return }
            scored = core.scorer.score(toks, n, st, irony: irony)
            if kinds.contains(.praise) && irony.contains(praiseStart) {
                p.removeIntent(.praise)
                kinds.remove(.praise)
            }
        }
        if scored.sentiment.compound > -0.05 { ironize(complaint) }
        // complaint, refund or churn rules move a neutral-or-positive lexicon score negative
        if (kinds.contains(.complaint) || kinds.contains(.cancellation) || kinds.contains(.refund))
            && scored.sentiment.compound > -0.05
            && !(kinds.contains(.praise) && scored.sentiment.compound >= 0.5)
        {
            scored = core.scorer.withPrior(scored, Float(core.configuration.complaintPrior))
        }
        var compound = scored.sentiment.compound
        if !kinds.contains(.complaint) && compound <= core.intents.complaintSentimentThreshold
            && scored.mostNegative >= 0
        {
            let e = core.scorer.extent(toks, n, at: scored.mostNegative, negative: true)
            set(.complaint, e.lowerBound, e.upperBound)
            kinds.insert(.complaint)
        }
        if !kinds.contains(.complaint) && compound < 0.5 {
            let cues = core.intents.complaintCues(toks, n)
            var found = false
            // after a "but" the cue is the text's point: "The couch is comfy but the delivery guys scratched the floor"
            if cues.start >= 0
                && (cues.score >= 1.5
                    || (cues.score >= 1.0 && (compound < 0.05 || Self.contrastBefore(toks, cues.start))))
            {
                set(.complaint, cues.start, cues.end)
                kinds.insert(.complaint)
                found = true
                ironize(cues.start..<cues.end)
            } else if let h = Self.complaintHashtag(buf, toks, n) {
                // "#worstflightever", "#customerservicefail": social complaints often sit in a tag
                p.setIntent(.complaint, start: Int(toks[h].start) - 1, end: Int(toks[h].end))
                kinds.insert(.complaint)
                found = true
            }
            if found {
                compound = scored.sentiment.compound
                if compound > -0.05 {
                    scored = core.scorer.withPrior(scored, Float(core.configuration.complaintPrior))
                    compound = scored.sentiment.compound
                }
            }
        }
        if kinds.contains(.praise) && compound < 0.05 {
            p.removeIntent(.praise)
            kinds.remove(.praise)
        } else if !kinds.contains(.praise) && compound >= core.intents.praiseSentimentThreshold
            && !kinds.contains(.complaint) && scored.mostPositive >= 0
        {
            let e = core.scorer.extent(toks, n, at: scored.mostPositive, negative: false)
            set(.praise, e.lowerBound, e.upperBound)
            kinds.insert(.praise)
        }
        if !kinds.contains(.question) && st.questions > 0 {
            if let q = (0..<n).first(where: { toks[$0].has(Token.question) }) {
                var s = q
                while s > 0 && !toks[s].has(Token.sentenceStart) && q - s < 12 { s -= 1 }
                set(.question, s, q + 1)
                kinds.insert(.question)
            }
        }
        p.sentiment = scored.sentiment
    }
}

/// What `InsightEngine.analyzePacked` finds in one text.
public struct PackedAnalysis: Sendable {
    /// The text with personal data replaced by tokens (nil when the input had none): store this, never the raw
    /// text. The enrichment's phrase ranges are offsets in it.
    public var maskedText: String?
    /// Masked spans by kind.
    public var maskedCounts: [String: Int]
    /// Scores, intents, themes, flags and language.
    public var enrichment: PackedEnrichment
    /// SimHash of the text (0 when too short), for the near-duplicate window.
    public var fingerprint: UInt64
}

extension InsightEngine {
    /// Whether a "but" or a "however" comes before token `i` in its sentence.
    static func contrastBefore(_ toks: UnsafeMutableBufferPointer<Token>, _ i: Int) -> Bool {
        var k = i - 1
        while k >= 0 && !toks[k].has(Token.sentenceEnd) {
            if toks[k].hash == TermHash.but || toks[k].hash == TermHash.however { return true }
            k -= 1
        }
        return false
    }

    /// Word stems that make a hashtag a complaint ("#fail", "#worstflightever", "#customerservicefail").
    static let complaintHashtagStems: [[UInt8]] = [
        "fail", "worst", "disappoint", "unacceptable", "ruined", "nothappy", "unhappy", "notok", "dobetter",
        "badservice", "poorservice", "terrible", "awful", "horrible", "furious", "angry", "annoyed", "frustrat",
        "stranded", "rude", "shameful", "ripoff", "scam", "fedup", "neveragain", "sucks", "notcool", "ridiculous",
        "pathetic", "nightmare", "joke", "delayed", "cancelled", "canceled", "lostluggage", "lostbag", "incompet",
        "peeved", "moneyback", "dissatisfied", "weaktea",
    ].map { Array($0.utf8) }

    /// The first token that is a hashtag beginning or ending with one of `complaintHashtagStems`, or nil
    /// ("#worstflightever", "#customerservicefail"; not "#neverdisappoints" or "#springbreaks").
    static func complaintHashtag(_ buf: UnsafeBufferPointer<UInt8>, _ toks: UnsafeMutableBufferPointer<Token>, _ n: Int)
        -> Int?
    {
        for i in 0..<n {
            let s = Int(toks[i].start)
            let e = Int(toks[i].end)
            guard s > 0, buf[s - 1] == 0x23, e - s >= 3, toks[i].has(Token.letters) else { continue }
            func stem(_ stem: [UInt8], at p: Int) -> Bool {
                var k = 0
                while k < stem.count && (buf[p + k] | 0x20) == stem[k] { k += 1 }
                return k == stem.count
            }
            for w in complaintHashtagStems where w.count <= e - s {
                if stem(w, at: s) || stem(w, at: e - w.count) { return i }
            }
        }
        return nil
    }
}

/// A tiny set of intent kinds, bit `InsightEngine.rank(kind)` (the order of `Enrichment.Intent.Kind.allCases`, as
/// `PackedEnrichment.intentBits` sets them): cheaper than `Set` on the hot path.
struct KindSet: Sendable, Hashable {
    var bits: UInt8 = 0
    init() {}
    init(bits: UInt8) { self.bits = bits }
    init(_ kinds: some Sequence<Enrichment.Intent.Kind>) { for k in kinds { insert(k) } }
    @inline(__always) static func bit(_ k: Enrichment.Intent.Kind) -> UInt8 { UInt8(1) << UInt8(InsightEngine.rank(k)) }
    @inline(__always) func contains(_ k: Enrichment.Intent.Kind) -> Bool { bits & Self.bit(k) != 0 }
    @inline(__always) mutating func insert(_ k: Enrichment.Intent.Kind) { bits |= Self.bit(k) }
    @inline(__always) mutating func remove(_ k: Enrichment.Intent.Kind) { bits &= ~Self.bit(k) }
}

/// Working memory for enrichment that a caller keeps across texts (one per task: it is not Sendable): the texts of
/// a batch side by side and their tokens side by side, reused from batch to batch.
///
/// A text's tokens need up to 16 bytes per byte of text; allocating them per text cost a malloc and free per event.
public final class InsightScratch {
    /// Grows, keeping what the current batch already wrote (`reserveTokens`).
    private(set) var tokens: UnsafeMutableBufferPointer<Token>
    private var bytes: UnsafeMutableBufferPointer<UInt8>

    /// Grows to the batches it is given.
    public init() {
        tokens = .allocate(capacity: 256)
        bytes = .allocate(capacity: 4096)
    }

    deinit {
        tokens.deallocate()
        bytes.deallocate()
    }

    /// Per-text positions and figures of a staged batch: text i is `bytes[byteStart[i]..<byteStart[i + 1]]`, its
    /// tokens `tokens[tokenStart[i]..<tokenStart[i + 1]]`.
    struct BatchArrays {
        var byteStart: [Int] = []
        var tokenStart: [Int] = []
        var stats: [TextStats] = []
        var scored: [SentimentScorer.Scored] = []
    }

    /// The current batch's arrays (`withBatchArrays`), kept for their capacity.
    private var batch = BatchArrays()

    /// Bytes its buffers hold: they grow to the largest batch given and do not shrink.
    public var capacityBytes: Int {
        tokens.count * MemoryLayout<Token>.stride + bytes.count
            + (batch.byteStart.capacity + batch.tokenStart.capacity) * MemoryLayout<Int>.stride
            + batch.stats.capacity * MemoryLayout<TextStats>.stride
            + batch.scored.capacity * MemoryLayout<SentimentScorer.Scored>.stride
    }

    /// `body` with the arrays of a batch of `count` texts: text and token starts (`count + 1` zeros), empty stats
    /// (`count`) and an empty score list. They are this scratch's own, moved out for the call and back after it, so
    /// that a batch allocates none of them: under live ingest those allocations were among the agent's largest,
    /// and glibc consolidated its free lists for each.
    func withBatchArrays<R>(_ count: Int, _ body: (inout BatchArrays) -> R) -> R {
        var b = BatchArrays()
        swap(&b, &batch)
        defer { swap(&b, &batch) }
        b.byteStart.removeAll(keepingCapacity: true)
        b.byteStart.append(contentsOf: repeatElement(0, count: count + 1))
        b.tokenStart.removeAll(keepingCapacity: true)
        b.tokenStart.append(contentsOf: repeatElement(0, count: count + 1))
        b.stats.removeAll(keepingCapacity: true)
        b.stats.append(contentsOf: repeatElement(TextStats(), count: count))
        b.scored.removeAll(keepingCapacity: true)
        b.scored.reserveCapacity(count)
        return body(&b)
    }

    /// Makes room for `count` tokens, keeping the first `keeping` of the current buffer.
    func reserveTokens(_ count: Int, keeping: Int) {
        guard tokens.count < count else { return }
        let grown = UnsafeMutableBufferPointer<Token>.allocate(capacity: max(count, tokens.count * 2))
        if keeping > 0 {
            _ = UnsafeMutableBufferPointer(rebasing: grown[0..<keeping]).initialize(fromContentsOf: tokens[0..<keeping])
        }
        tokens.deallocate()
        tokens = grown
    }

    /// `body` over an uninitialised buffer of `count` bytes.
    func withBytes<R>(_ count: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> R) -> R {
        if bytes.count < count {
            bytes.deallocate()
            bytes = .allocate(capacity: max(count, bytes.count * 2))
        }
        return body(UnsafeMutableBufferPointer(rebasing: bytes[0..<count]))
    }
}
