import Foundation

extension Report {
    /// The report as text in `format`, ending with a newline.
    func rendered(_ format: OutputFormat) -> String {
        switch format {
        case .json:
            return table.json(single: single)
        case .csv:
            return table.csv()
        case .table:
            if let message {
                return Table.flatten(message) + "\n"
            }
            return table.aligned() + (footer.map { Table.flatten($0) + "\n" } ?? "")
        }
    }
}

extension Table {
    /// Columns padded to their widest cell, two spaces apart, headers in capitals; numbers right-aligned.
    func aligned() -> String {
        let shown = columns.indices.filter { columns[$0].inTable }
        let texts = rows.map { row in
            shown.map { i in Self.clip(Self.flatten(row[i].text), to: columns[i].maxWidth) }
        }
        let headers = shown.map { columns[$0].header.uppercased() }
        var widths = headers.map(\.count)
        for row in texts {
            for (k, text) in row.enumerated() {
                widths[k] = max(widths[k], text.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (k, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[k] - cell.count)
                let last = k == cells.count - 1
                let right = columns[shown[k]].alignment == .right
                out += right ? pad + cell : (last ? cell : cell + pad)
                if !last {
                    out += "  "
                }
            }
            return out
        }
        return ([line(headers)] + texts.map(line)).joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV: a header of column keys, then every column of every row; fields quoted when needed.
    func csv() -> String {
        var lines = [columns.map { Self.csvField($0.key) }.joined(separator: ",")]
        for row in rows {
            lines.append(row.map { Self.csvField($0.value.csvText, text: $0.value.isString) }.joined(separator: ","))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A JSON array of objects keyed by column key in column order (or the one object when `single`).
    func json(single: Bool = false) -> String {
        let objects = rows.map { row in
            JSONValue.object(Array(zip(columns.map(\.key), row.map(\.value))))
        }
        if single, let first = objects.first {
            return first.json() + "\n"
        }
        return JSONValue.array(objects).json() + "\n"
    }

    /// A CSV field; a text one (not a number) that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or
    /// a carriage return first: OWASP's list) gets a leading `'`. Texts come from customers (feedback, reviews), and
    /// `=HYPERLINK(...)` in one must not run when a CX lead opens the export.
    static func csvField(_ value: String, text: Bool = true) -> String {
        var s = value
        if text, let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { s = "'" + s }
        let needsQuotes =
            s.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
            || s.first == " " || s.last == " "
        guard needsQuotes else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One line of printable text: line breaks become spaces, and other control characters (C0, DEL, C1) become
    /// U+FFFD. Cells hold what customers wrote; an escape sequence in a review (`ESC ]52;c;...` writes the
    /// clipboard, `ESC [2J` clears the screen) must not reach a CX lead's terminal.
    static func flatten(_ s: String) -> String {
        let lines = s.contains(where: \.isNewline) ? s.split(whereSeparator: \.isNewline).joined(separator: " ") : s
        guard lines.unicodeScalars.contains(where: isControl) else { return lines }
        var out = String.UnicodeScalarView()
        for u in lines.unicodeScalars { out.append(isControl(u) ? "\u{FFFD}" : u) }
        return String(out)
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value)
    }

    static func clip(_ s: String, to width: Int?) -> String {
        guard let width, s.count > width, width > 1 else { return s }
        return String(s.prefix(width - 1)) + "…"
    }
}
