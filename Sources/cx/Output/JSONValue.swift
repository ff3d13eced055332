/// A typed value for machine output (JSON, CSV).
enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([(String, JSONValue)])
    case null

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.map(\.0) == y.map(\.0) && x.map(\.1) == y.map(\.1)
        case (.null, .null): true
        default: false
        }
    }

    /// The text of the value in a CSV cell: empty for null, `;`-joined for arrays.
    /// Whether this is text, not a number, a flag or a structure.
    var isString: Bool {
        if case .string = self { return true }
        return false
    }

    var csvText: String {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): Self.number(d)
        case .bool(let b): b ? "true" : "false"
        case .array(let a): a.map(\.csvText).joined(separator: ";")
        case .object: json(indent: nil)
        case .null: ""
        }
    }

    /// JSON text; objects keep their key order. `indent` nil: one line; else pretty, two spaces per level.
    func json(indent: Int? = 0) -> String {
        var out = ""
        write(into: &out, indent: indent)
        return out
    }

    private func write(into out: inout String, indent: Int?) {
        let inner = indent.map { $0 + 2 }
        let newline = indent == nil ? "" : "\n"
        let pad = String(repeating: " ", count: inner ?? 0)
        let close = String(repeating: " ", count: indent ?? 0)
        switch self {
        case .string(let s): Self.quote(s, into: &out)
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? Self.number(d) : "null"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            guard !items.isEmpty else {
                out += "[]"
                return
            }
            out += "[" + newline
            for (k, item) in items.enumerated() {
                out += pad
                item.write(into: &out, indent: inner)
                out += (k == items.count - 1 ? "" : ",") + newline
            }
            out += close + "]"
        case .object(let members):
            guard !members.isEmpty else {
                out += "{}"
                return
            }
            out += "{" + newline
            for (k, (key, value)) in members.enumerated() {
                out += pad
                Self.quote(key, into: &out)
                out += indent == nil ? ":" : ": "
                value.write(into: &out, indent: inner)
                out += (k == members.count - 1 ? "" : ",") + newline
            }
            out += close + "}"
        }
    }

    /// Shortest text of a number: `9`, `0.25`, `-1e+20`.
    static func number(_ d: Double) -> String {
        if d.rounded() == d && abs(d) < 1e15 {
            return String(Int64(d))
        }
        return String(d)
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
