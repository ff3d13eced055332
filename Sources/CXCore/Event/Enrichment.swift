/// What the edge's insight models concluded about one event, stored beside it and synced with it.
///
/// The version of the model that produced it travels along so that the hub can tell scores of
/// different model generations apart.
public struct Enrichment: Sendable, Hashable, Codable {
    /// Sentiment in the VADER convention: `compound` in [-1, 1], the three shares summing to 1.
    public struct Sentiment: Sendable, Hashable, Codable {
        public var compound: Double
        public var positive: Double
        public var neutral: Double
        public var negative: Double

        public init(compound: Double, positive: Double, neutral: Double, negative: Double) {
            self.compound = compound
            self.positive = positive
            self.neutral = neutral
            self.negative = negative
        }
    }

    /// What the customer wants, with the phrase that gave it away (for operators to audit the rule).
    public struct Intent: Sendable, Hashable, Codable {
        public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
            case complaint
            case refund
            case cancellation
            case praise
            case question
        }

        public var kind: Kind
        public var phrase: String

        public init(kind: Kind, phrase: String) {
            self.kind = kind
            self.phrase = phrase
        }
    }

    /// One tag of the theme taxonomy, e.g. dimension `product_area`, value `checkout`.
    public struct Theme: Sendable, Hashable, Codable {
        public var dimension: String
        public var value: String

        public init(dimension: String, value: String) {
            self.dimension = dimension
            self.value = value
        }
    }

    public var modelVersion: String
    public var sentiment: Sentiment
    public var intents: [Intent]
    public var themes: [Theme]
    /// Data-quality flags (`bot`, `spam`, `near_duplicate`, `pii_masked`, ...): flags, never drops.
    public var flags: [String]
    /// BCP 47 primary language subtag, or nil when the text is too short to tell.
    public var language: String?
    public var languageConfidence: Double

    public init(
        modelVersion: String,
        sentiment: Sentiment,
        intents: [Intent] = [],
        themes: [Theme] = [],
        flags: [String] = [],
        language: String? = nil,
        languageConfidence: Double = 0
    ) {
        self.modelVersion = modelVersion
        self.sentiment = sentiment
        self.intents = intents
        self.themes = themes
        self.flags = flags
        self.language = language
        self.languageConfidence = languageConfidence
    }
}
