import CXCore
import GRDB

/// The buffer's dictionary of theme tags: each `(dimension, value)` of the taxonomy is stored as a one-byte
/// code in the row's `theme_codes` column instead of its two names inside the payload.
///
/// Codes are assigned once, in the order themes are registered, and never given to another theme, so every
/// row decodes the same whatever the taxonomy has become since. An event with a theme without a code (more
/// than 255 in the book) keeps all its themes inline in the payload, as the protocol writes them.
public struct ThemeCodebook: Sendable, Hashable {
    private(set) var codes: [Enrichment.Theme: UInt8] = [:]
    private(set) var themes: [UInt8: Enrichment.Theme] = [:]

    /// How many themes have a code.
    public var count: Int { codes.count }

    static func load(_ db: Database) throws -> ThemeCodebook {
        var book = ThemeCodebook()
        for row in try Row.fetchAll(db, sql: "SELECT code, dimension, value FROM theme_codes ORDER BY code") {
            book.add(Enrichment.Theme(dimension: row[1], value: row[2]), code: UInt8(row[0] as Int))
        }
        return book
    }

    /// Gives the next free codes to the themes that have none yet, in order, while codes remain.
    static func register(_ themes: [Enrichment.Theme], _ db: Database) throws -> ThemeCodebook {
        var book = try load(db)
        for (theme, code) in book.assign(themes) {
            try db.execute(
                sql: "INSERT INTO theme_codes (code, dimension, value) VALUES (?, ?, ?)",
                arguments: [Int(code), theme.dimension, theme.value])
        }
        return book
    }

    /// The book a fresh buffer gets for `themes` (codes 1, 2, ... in order), without a database: for tools that
    /// encode rows the way the agent does.
    public static func registered(_ themes: [Enrichment.Theme]) -> ThemeCodebook {
        var book = ThemeCodebook()
        book.assign(themes)
        return book
    }

    /// Gives the next free codes to the themes that have none yet, in order, while codes remain; returns them.
    @discardableResult
    private mutating func assign(_ themes: [Enrichment.Theme]) -> [(Enrichment.Theme, UInt8)] {
        var next = Int(self.themes.keys.max() ?? 0) + 1
        var assigned: [(Enrichment.Theme, UInt8)] = []
        for theme in themes where codes[theme] == nil {
            guard next <= 255 else { break }
            add(theme, code: UInt8(next))
            assigned.append((theme, UInt8(next)))
            next += 1
        }
        return assigned
    }

    private mutating func add(_ theme: Enrichment.Theme, code: UInt8) {
        codes[theme] = code
        themes[code] = theme
    }

    /// The codes of `themes` in order, or nil when one of them has no code: then all stay inline, so that the
    /// order the enrichment gave them is kept.
    func encode(_ themes: [Enrichment.Theme]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(themes.count)
        for t in themes {
            guard let code = codes[t] else { return nil }
            out.append(code)
        }
        return out
    }

    /// The themes of `codes`, in order; a code missing from the book (a damaged `theme_codes` table) is skipped.
    func decode(_ codes: some Sequence<UInt8>) -> [Enrichment.Theme] {
        codes.compactMap { themes[$0] }
    }
}
