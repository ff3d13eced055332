import CXCore
import CXInsight
import Synchronization

/// Masks and hashes, before they leave the box, the events stored without enrichment (`enrichment_enabled: false`,
/// diagnostics only, or rows from before enrichment was switched on).
///
/// Such a row holds the text and the customer identifier as posted. The hub stores what agents send, and must never
/// hold raw personal data (DESIGN: PII masked before storage): the text and attribute values are masked as the
/// enrichment masks them, and the identifier becomes its keyed hash with the fleet key, the key the hub joins
/// channels and names erasures by. An identifier that cannot be normalised, or an agent without the fleet key, sends
/// none. No scores are added: the row was not analysed, and the hub shows it as such. Masking and hashing are
/// deterministic, so a batch prepared again is the same.
final class RawEventSanitizer: Sendable {
    private let hasher: CustomerIdentifierHasher?
    /// Built at the first raw event: loading the models costs an agent that enriches at ingest for nothing.
    private let engine = Mutex<InsightEngine?>(nil)
    private let piiPatterns: [PIIPattern]

    init(fleetKey: [UInt8]?, piiPatterns: [PIIPattern] = [], defaultCountryCode: String? = nil) {
        hasher = fleetKey.flatMap {
            try? CustomerIdentifierHasher(fleetKey: $0, defaultCountryCode: defaultCountryCode)
        }
        self.piiPatterns = piiPatterns
    }

    /// Masks and hashes `event` in place when it carries no enrichment; an enriched event is left as it is.
    func sanitize(_ event: inout Event) throws {
        guard event.enrichment == nil else { return }
        let engine = try self.engine.withLock { engine in
            if let engine { return engine }
            var configuration = InsightConfiguration()
            configuration.piiPatterns = piiPatterns
            let built = try InsightEngine(configuration: configuration)
            engine = built
            return built
        }
        if let text = event.text { event.text = engine.maskedText(text) }
        engine.maskAttributes(&event.attributes)
        if let id = event.customerID { event.customerID = hasher?.hash(id) }
    }
}
