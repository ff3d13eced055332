import CXCore
import Foundation
import Testing

@Suite("Event validation names the field and the fault")
struct EventValidationTests {
    static let now: Int64 = 1_704_067_200_000 + 86_400_000

    static func decode(_ json: String) throws -> IncomingEvent {
        try JSONDecoder().decode(IncomingEvent.self, from: Data(json.utf8))
    }

    static let valid = """
        {"event_id":"7d444840-9dc0-11d1-b245-5ffdce74fad2","store_id":"store-001","device_id":"store-001-kiosk-01",
        "channel":"kiosk","customer_id":"cust-000001","ts":1704067200000,"type":"survey_nps","score":9,
        "text":"Great staff","journey_stage":"post_purchase"}
        """

    @Test func workloadEventIsAccepted() throws {
        let event = try EventValidator().validate(Self.decode(Self.valid), nowMillis: Self.now).get()
        #expect(event.type == .surveyNPS)
        #expect(event.score == Score(value: 9, scale: .nps))
        #expect(event.journeyStage == .postPurchase)
        #expect(event.occurredAt == 1_704_067_200_000)
    }

    /// Customer identifiers as producers hold them: phones with '+', spaces and brackets, e-mail addresses with a
    /// '+' tag, an apostrophe or letters of other alphabets. They are hashed before storage; all were refused.
    @Test(arguments: [
        "+44 7700 900123", "+44 (0)7700 900123", "ann+news@example.com", "o'brien@example.ie",
        "müller@example.de", "LOY 1234-5678",
    ])
    func customerIdentifiersAsProducersWriteThemAreAccepted(id: String) throws {
        let json = Self.valid.replacingOccurrences(of: "cust-000001", with: id)
        let event = try EventValidator().validate(Self.decode(json), nowMillis: Self.now).get()
        #expect(event.customerID == id)
    }

    @Test(arguments: [
        ("\"channel\":\"kiosk\"", "\"channel\":\"fax\"", "channel", EventValidationError.Code.invalidValue),
        ("\"store_id\":\"store-001\",", "", "store_id", .missingField),
        ("\"score\":9", "\"score\":11", "score", .outOfRange),
        ("\"type\":\"survey_nps\"", "\"type\":\"telepathy\"", "type", .invalidValue),
        ("\"ts\":1704067200000", "\"occurred_at\":\"yesterday\"", "occurred_at", .invalidValue),
        ("\"ts\":1704067200000", "\"ts\":4102444800000", "occurred_at", .outOfRange),
        ("\"event_id\":\"7d444840-9dc0-11d1-b245-5ffdce74fad2\"", "\"event_id\":\"nope\"", "event_id", .invalidValue),
        ("\"device_id\":\"store-001-kiosk-01\"", "\"device_id\":\"bad id with spaces\"", "device_id", .invalidValue),
        ("\"customer_id\":\"cust-000001\"", "\"customer_id\":\"ann\\u0000@x.com\"", "customer_id", .invalidValue),
        ("\"customer_id\":\"cust-000001\"", "\"customer_id\":\"\"", "customer_id", .missingField),
    ])
    func invalidFieldIsNamed(find: String, replace: String, field: String, code: EventValidationError.Code) throws {
        let json = Self.valid.replacingOccurrences(of: find, with: replace)
        #expect(json != Self.valid)
        let result = EventValidator().validate(try Self.decode(json), nowMillis: Self.now)
        guard case .failure(let error) = result else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.field == field)
        #expect(error.code == code)
        #expect(error.description.contains(field))
    }

    @Test func wrongJSONTypeIsNamed() throws {
        let json = Self.valid.replacingOccurrences(of: "\"score\":9", with: "\"score\":\"nine\"")
        let slot = try JSONDecoder().decode(IncomingSlot.self, from: Data(json.utf8))
        guard case .failure(let error) = slot.result else {
            Issue.record("expected a type error")
            return
        }
        #expect(error.code == .invalidType)
        #expect(error.field == "score")
    }

    @Test(arguments: [
        ("2024-01-01T00:00:00Z", Int64(1_704_067_200_000)),
        ("2024-01-01T01:00:00.250+01:00", 1_704_067_200_250),
        ("2024-02-29T23:59:59.9Z", 1_709_251_199_900),
        // more than three fraction digits are cut to milliseconds (they trapped the agent)
        ("2024-01-01T00:00:00.123456Z", 1_704_067_200_123),
        ("2026-12-07T08:00:00.1234+00:00", 1_796_630_400_123),
        ("2024-01-01T00:00:00.999999999Z", 1_704_067_200_999),
    ])
    func rfc3339(text: String, millis: Int64) {
        #expect(RFC3339.parseMillis(text) == millis)
    }

    @Test(arguments: [
        "2024-13-01T00:00:00Z", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00:00Zjunk",
        "2026-02-31T00:00:00Z", "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-01-01T00:00:00+99:99",
        "2024-01-01T00:00:00+24:00",
    ])
    func rfc3339Rejects(text: String) {
        #expect(RFC3339.parseMillis(text) == nil)
    }

    @Test func uuidV7IsTimeOrdered() {
        let a = UUID.v7(unixMillis: 1000)
        let b = UUID.v7(unixMillis: 1001)
        #expect(a.bytes.lexicographicallyPrecedes(b.bytes))
        #expect(a.bytes[6] >> 4 == 7)
        #expect(a.bytes[8] >> 6 == 2)
    }
}
