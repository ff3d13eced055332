import CXCore

/// Everything the engine can be configured with; `default` uses the bundled lexicon, rules and taxonomy.
public struct InsightConfiguration: Sendable {
    /// Theme taxonomy; nil means the bundled retail taxonomy.
    public var taxonomy: ThemeTaxonomy?
    /// Intent rules in the `kind<TAB>pattern` format; nil means the bundled rules.
    public var intentRulesText: String?
    /// Extra identifier patterns to mask (loyalty numbers, member ids...).
    public var piiPatterns: [PIIPattern] = []
    public var alertRules: [AlertRule] = AlertRule.defaults
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

    public static var `default`: InsightConfiguration { InsightConfiguration() }
}

/// One event to enrich: the text plus the few fields alert rules and hashing need.
public struct InsightInput: Sendable {
    public var text: String?
    public var eventID: String
    public var storeID: String
    public var channel: String?
    /// Raw customer identifier (loyalty id, e-mail, phone); hashed, never returned.
    public var customerID: String?
    public var customerIDKind: CustomerIdentifierHasher.Kind?
    /// Event time, epoch milliseconds (used by the near-duplicate window and the alert rules).
    public var timeMs: Int64
    public var score: Int?
    public var scoreKind: ScoreKind?
    /// Time the respondent took, when the channel knows it (bot heuristic).
    public var responseTimeMs: Int?

    public init(
        text: String?, eventID: String = "", storeID: String = "", channel: String? = nil, customerID: String? = nil,
        customerIDKind: CustomerIdentifierHasher.Kind? = nil, timeMs: Int64 = 0, score: Int? = nil,
        scoreKind: ScoreKind? = nil, responseTimeMs: Int? = nil
    ) {
        self.text = text
        self.eventID = eventID
        self.storeID = storeID
        self.channel = channel
        self.customerID = customerID
        self.customerIDKind = customerIDKind
        self.timeMs = timeMs
        self.score = score
        self.scoreKind = scoreKind
        self.responseTimeMs = responseTimeMs
    }
}

/// The outcome of enriching one event: what to store beside it and what to alert on.
public struct InsightResult: Sendable {
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
    public var duplicates: NearDuplicateWindow
    public var alerts: AlertRuleEngine
    /// Recently hashed customer identifiers (bounded; customers come back, HMAC is not free).
    var customerKeys: [String: String] = [:]
    static let customerKeyCacheSize = 8192

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
    public static let modelVersion = "cxinsight-1.0.0+lexicon-2024.11-cx1"

    public let configuration: InsightConfiguration
    public let lexicon: SentimentLexicon
    public let intents: IntentDetector
    public let themes: ThemeTagger
    public let masker: PIIMasker
    public let quality: QualityAnalyzer
    public let hasher: CustomerIdentifierHasher?
    let scorer: SentimentScorer

    public init(configuration: InsightConfiguration = .default) throws {
        self.configuration = configuration
        lexicon = try SentimentLexicon.bundled()
        var det =
            try configuration.intentRulesText.map { try IntentDetector(rulesText: $0) } ?? IntentDetector.bundled()
        det.complaintSentimentThreshold = configuration.complaintSentimentThreshold
        det.praiseSentimentThreshold = configuration.praiseSentimentThreshold
        intents = det
        themes = ThemeTagger(taxonomy: try configuration.taxonomy ?? ThemeTaxonomy.bundledDefault())
        masker = PIIMasker(patterns: configuration.piiPatterns)
        quality = QualityAnalyzer(configuration: configuration.quality)
        hasher = try configuration.fleetKey.map {
            try CustomerIdentifierHasher(fleetKey: $0, defaultCountryCode: configuration.defaultCountryCode)
        }
        scorer = SentimentScorer(lexicon: lexicon)
    }

    /// A fresh state for `enrich(_:state:)` with this engine's configuration.
    public func makeState() -> InsightState { InsightState(configuration: configuration) }

    /// Sentiment alone (the lexicon and its rules, no intent prior).
    public func sentiment(_ text: String) -> Enrichment.Sentiment {
        var t = text
        return t.withUTF8 { buf in
            withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: toks, stats: &st)
                return scorer.score(toks, n, st).sentiment
            }
        }
    }

    /// Enrichment without memory: no near-duplicate check and no alerts.
    public func enrich(_ input: InsightInput) -> InsightResult {
        analyze(input)
    }

    /// Full enrichment: also checks near-duplicates and runs the alert rules, updating `state`.
    public func enrich(_ input: InsightInput, state: inout InsightState) -> InsightResult {
        var r = analyze(input, hashCustomer: false)
        if let h = hasher, let id = input.customerID {
            let cacheKey = (input.customerIDKind?.rawValue ?? "?") + "\u{1}" + id
            if let k = state.customerKeys[cacheKey] { r.customerKey = k } else {
                r.customerKey = input.customerIDKind.map { h.hash(id, kind: $0) } ?? h.hash(id)
                if state.customerKeys.count >= InsightState.customerKeyCacheSize { state.customerKeys.removeAll(keepingCapacity: true) }
                state.customerKeys[cacheKey] = r.customerKey
            }
        }
        if r.fingerprint != 0 && state.duplicates.check(r.fingerprint, at: input.timeMs) {
            r.enrichment.flags.append("near_duplicate")
        }
        let flags = r.enrichment.flags
        let event = AlertEvent(
            eventID: input.eventID, storeID: input.storeID, channel: input.channel, customerKey: r.customerKey,
            timeMs: input.timeMs, compound: r.enrichment.sentiment.compound,
            intents: Set(r.enrichment.intents.map(\.kind)), score: input.score, scoreKind: input.scoreKind,
            suppressed: flags.contains("bot") || flags.contains("spam") || flags.contains("near_duplicate"))
        r.alerts = state.alerts.process(event)
        return r
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

    private func analyze(_ input: InsightInput, hashCustomer: Bool = true) -> InsightResult {
        var customerKey: String? = nil
        if hashCustomer, let h = hasher, let id = input.customerID {
            customerKey = input.customerIDKind.map { h.hash(id, kind: $0) } ?? h.hash(id)
        }
        guard let raw = input.text, !raw.isEmpty else {
            return InsightResult(
                enrichment: Enrichment(modelVersion: Self.modelVersion, sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0)),
                maskedText: input.text, maskedCounts: [:], customerKey: customerKey, alerts: [], fingerprint: 0)
        }
        let masked = masker.mask(raw)
        var text = masked.text
        var flags: [String] = []
        if masked.total > 0 { flags.append("pii_masked") }
        var enrichment = Enrichment(modelVersion: Self.modelVersion, sentiment: .init(compound: 0, positive: 0, neutral: 0, negative: 0))
        var fingerprint: UInt64 = 0
        text.withUTF8 { buf in
            withUnsafeTemporaryAllocation(of: Token.self, capacity: Tokenizer.capacity(buf.count)) { toks in
                var st = TextStats()
                let n = Tokenizer.tokenize(buf, into: toks, stats: &st)
                var scored = scorer.score(toks, n, st)
                let words = lexicon.words
                let isNegator: (Int) -> Bool = { j in
                    let k = lexicon.lookup(toks[j])
                    if toks[j].has(Token.negContraction) { return true }
                    guard k >= 0 else { return false }
                    let w = words[Int(k)]
                    return w.flags & SentimentLexicon.negator != 0 || w.special == SentimentLexicon.Special.no.rawValue
                }
                let hits = intents.hits(toks, n, questionMark: st.questions > 0, negators: isNegator)
                func phrase(_ s: Int, _ e: Int) -> String {
                    String(decoding: UnsafeBufferPointer(rebasing: buf[Int(toks[s].start)..<Int(toks[e - 1].end)]), as: UTF8.self)
                }
                var list: [Enrichment.Intent] = []
                var kinds = Set<Enrichment.Intent.Kind>()
                for h in hits {
                    list.append(Enrichment.Intent(kind: h.kind, phrase: phrase(h.start, h.end)))
                    kinds.insert(h.kind)
                }
                // complaint or churn rules move a neutral-or-positive lexicon score negative
                if (kinds.contains(.complaint) || kinds.contains(.cancellation)) && scored.sentiment.compound > -0.05
                    && !(kinds.contains(.praise) && scored.sentiment.compound >= 0.5)
                {
                    scored = scorer.withPrior(scored, Float(configuration.complaintPrior))
                }
                var compound = scored.sentiment.compound
                if !kinds.contains(.complaint) && compound <= intents.complaintSentimentThreshold && scored.mostNegative >= 0 {
                    list.append(Enrichment.Intent(kind: .complaint, phrase: phrase(scored.mostNegative, scored.mostNegative + 1)))
                    kinds.insert(.complaint)
                }
                if !kinds.contains(.complaint) && compound < 0.5 {
                    let cues = intents.complaintCues(toks, n, negators: isNegator) { j in
                        let k = lexicon.lookup(toks[j])
                        return k >= 0 && words[Int(k)].flags & SentimentLexicon.inLexicon != 0 && words[Int(k)].valence > 0
                    }
                    if cues.start >= 0 && (cues.score >= 1.5 || (cues.score >= 1.0 && compound < 0.05)) {
                        list.append(Enrichment.Intent(kind: .complaint, phrase: phrase(cues.start, cues.end)))
                        kinds.insert(.complaint)
                        if compound > -0.05 {
                            scored = scorer.withPrior(scored, Float(configuration.complaintPrior))
                            compound = scored.sentiment.compound
                        }
                    }
                }
                if kinds.contains(.praise) && compound < 0.05 {
                    list.removeAll { $0.kind == .praise }
                    kinds.remove(.praise)
                } else if !kinds.contains(.praise) && compound >= intents.praiseSentimentThreshold
                    && !kinds.contains(.complaint) && scored.mostPositive >= 0
                {
                    list.append(Enrichment.Intent(kind: .praise, phrase: phrase(scored.mostPositive, scored.mostPositive + 1)))
                    kinds.insert(.praise)
                }
                if !kinds.contains(.question) && st.questions > 0 {
                    if let q = (0..<n).first(where: { toks[$0].has(Token.question) }) {
                        var s = q
                        while s > 0 && !toks[s].has(Token.sentenceStart) && q - s < 12 { s -= 1 }
                        list.append(Enrichment.Intent(kind: .question, phrase: phrase(s, q + 1)))
                        kinds.insert(.question)
                    }
                }
                // stable order: complaint, refund, cancellation, praise, question
                if list.count > 1 { list.sort { Self.rank($0.kind) < Self.rank($1.kind) } }
                enrichment.sentiment = scored.sentiment
                enrichment.intents = list
                enrichment.themes = themes.tag(toks, n)
                var englishHits = 0
                for j in 0..<n where toks[j].has(Token.letters) {
                    let k = lexicon.table.get(toks[j].hash)
                    if k >= 0 && words[Int(k)].flags & SentimentLexicon.inLexicon != 0 { englishHits += 1 }
                }
                let q = quality.analyze(buf, toks, n, st, englishHits: englishHits, responseTimeMs: input.responseTimeMs)
                enrichment.language = q.language.language
                enrichment.languageConfidence = q.language.confidence
                if q.bot { flags.append("bot") }
                if q.spam { flags.append("spam") }
                if let l = q.language.language, l != "en", q.language.confidence >= 0.5 { flags.append("non_english") }
                fingerprint = q.fingerprint
            }
        }
        enrichment.flags = flags
        return InsightResult(
            enrichment: enrichment, maskedText: text, maskedCounts: masked.counts, customerKey: customerKey,
            alerts: [], fingerprint: fingerprint)
    }
}
