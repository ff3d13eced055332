import ArgumentParser
import NIOHTTP1

/// `cx erase ID`: the right to be forgotten, for one customer, across the fleet.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase one customer's data at the hub and, with their next sync, at every store.",
        discussion: """
            ID is the customer's identifier (e-mail, phone, loyalty id) or the keyed hash the events carry. The \
            erasure is a tombstone kept forever: events of this customer that a store sends later, even ones \
            buffered while it was offline, are dropped on arrival. It cannot be undone; pass --yes to confirm.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The customer's identifier or keyed hash.")
    var id: String

    @Flag(help: "Confirm the erasure (it cannot be undone).")
    var yes = false

    mutating func validate() throws {
        guard yes else { throw ValidationError("erasing cannot be undone: add --yes to confirm") }
    }

    struct Answer: Decodable {
        var subject: String
        var eventsDeleted: Int
        var linkedKept: [String]?

        enum CodingKeys: String, CodingKey {
            case subject
            case eventsDeleted = "events_deleted"
            case linkedKept = "linked_kept"
        }
    }

    struct Empty: Encodable {}

    mutating func run() async throws {
        let id = id
        try await options.run { hub, _ in
            let answer = try await hub.send(
                Answer.self, .POST, "/v1/customers/\(HubClient.segment(id))/erase", body: Empty())
            var table = Table([
                Column("subject", "subject"), Column("events_deleted", "events deleted", .right),
                Column("linked_kept", "linked, not erased"),
            ])
            let kept = answer.linkedKept ?? []
            table.append([.string(answer.subject), .int(answer.eventsDeleted), .list(kept)])
            var message = "erased: \(answer.eventsDeleted) events deleted at the hub; stores follow on their next sync"
            if !kept.isEmpty {
                // `cx customer` showed them as one customer: say plainly that they stay.
                message +=
                    "\nwarning: \(kept.count) identifier\(kept.count == 1 ? " was" : "s were") linked to it and not "
                    + "erased (\(kept.joined(separator: ", "))); erase each that belongs to the same person"
            }
            return Report(table, message: message, single: true)
        }
    }
}
