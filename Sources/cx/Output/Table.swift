/// One value of a table: what machines get and what the aligned table shows.
struct Cell: Sendable {
    var value: JSONValue
    var text: String

    init(_ value: JSONValue, text: String) {
        self.value = value
        self.text = text
    }

    /// A string, `-` in the table when absent.
    static func string(_ s: String?) -> Cell {
        Cell(s.map(JSONValue.string) ?? .null, text: s ?? "-")
    }

    /// An integer, shown as is unless `text` is given.
    static func int<I: BinaryInteger>(_ i: I?, text: String? = nil) -> Cell {
        guard let i else { return Cell(.null, text: "-") }
        return Cell(.int(Int64(clamping: i)), text: text ?? String(i))
    }

    /// A number, shown with up to `digits` decimals.
    static func double(_ d: Double?, digits: Int = 2) -> Cell {
        guard let d else { return Cell(.null, text: "-") }
        return Cell(.double(d), text: Formatting.decimal(d, digits: digits))
    }

    static func bool(_ b: Bool?) -> Cell {
        guard let b else { return Cell(.null, text: "-") }
        return Cell(.bool(b), text: b ? "yes" : "no")
    }

    /// A list of strings, comma-separated in the table.
    static func list(_ items: [String]) -> Cell {
        Cell(.array(items.map(JSONValue.string)), text: items.isEmpty ? "-" : items.joined(separator: ","))
    }
}

/// A column: its machine key (JSON and CSV), its table header and how the table shows it.
struct Column: Sendable {
    enum Alignment: Sendable {
        case left
        case right
    }

    var key: String
    var header: String
    var alignment: Alignment = .left
    /// False for columns only JSON and CSV carry.
    var inTable = true
    /// The widest a table cell may be; longer text is cut with `…`.
    var maxWidth: Int?

    init(_ key: String, _ header: String, _ alignment: Alignment = .left, inTable: Bool = true, maxWidth: Int? = nil) {
        self.key = key
        self.header = header
        self.alignment = alignment
        self.inTable = inTable
        self.maxWidth = maxWidth
    }
}

/// Rows under columns, printable as an aligned table, CSV or JSON.
struct Table: Sendable {
    var columns: [Column]
    var rows: [[Cell]] = []

    init(_ columns: [Column]) {
        self.columns = columns
    }

    mutating func append(_ row: [Cell]) {
        precondition(row.count == columns.count, "a row needs one cell per column")
        rows.append(row)
    }
}

/// What a command prints: a table, with a message for people where a table says too little.
struct Report: Sendable {
    var table: Table
    /// Printed after the table in table format (a total, a summary).
    var footer: String?
    /// Printed instead of the table in table format (the result of a change).
    var message: String?
    /// JSON prints the only row as an object rather than an array of one.
    var single = false

    init(_ table: Table, footer: String? = nil, message: String? = nil, single: Bool = false) {
        self.table = table
        self.footer = footer
        self.message = message
        self.single = single
    }
}
