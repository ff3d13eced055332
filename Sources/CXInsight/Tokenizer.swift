// Byte-level tokenisation shared by every analyser of the module.
//
// The hot path never builds a `String` per word: a token is a byte range of the UTF-8 text plus a
// 64-bit hash of its ASCII-lowercased form, and every dictionary of the module (sentiment lexicon,
// intent rules, theme taxonomy, language stop words) is keyed by those hashes.

/// 64-bit FNV-1a of ASCII-lowercased bytes, the key of every word table of the module.
///
/// Public so that callers that build their own tables (e.g. tests, tooling) hash words the same way.
public enum TermHash {
    @usableFromInline static let offset: UInt64 = 0xcbf2_9ce4_8422_2325
    @usableFromInline static let prime: UInt64 = 0x0000_0100_0000_01b3

    /// Hash of a word as the tokenizer would compute it (lowercase, curly apostrophe folded).
    public static func of(_ word: String) -> UInt64 {
        var h = offset
        var w = word
        w.withUTF8 { buf in
            var i = 0
            while i < buf.count {
                let (b, step) = TermHash.fold(buf, i)
                h = (h ^ UInt64(b)) &* prime
                i += step
            }
        }
        return h == 0 ? 1 : h
    }

    /// Order-sensitive combination of word hashes into a phrase key.
    @inline(__always)
    public static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a &* 0x9E37_79B9_7F4A_7C15
        let r = (m << 29) | (m >> 35)
        let k = r ^ b
        return k == 0 ? 1 : k
    }

    /// Key of an emoji scalar in the word tables.
    @inline(__always)
    static func emoji(_ scalar: UInt32) -> UInt64 { 0xE0E0_0000_0000_0000 | UInt64(scalar) }

    /// Lowercased byte at `i` and how many bytes it consumed (folds U+2019 to an apostrophe).
    @inline(__always)
    static func fold(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt8, Int) {
        let b = buf[i]
        if b >= 0x41 && b <= 0x5A { return (b | 0x20, 1) }
        if b == 0xE2 && i + 2 < buf.count && buf[i + 1] == 0x80 && (buf[i + 2] == 0x99 || buf[i + 2] == 0x98) {
            return (0x27, 3)
        }
        return (b, 1)
    }
}

/// Open-addressing table from a 64-bit term hash to a small integer (an index into a side array).
///
/// Swift's `Dictionary` hashes keys with SipHash; this table multiplies and probes linearly, which
/// is several times faster for the millions of lookups per second the bench asks for.
struct TermTable: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private var shift: UInt64
    private(set) var count: Int = 0

    init(minimumCapacity: Int = 16) {
        var cap = 16
        while cap < minimumCapacity * 2 { cap <<= 1 }
        keys = Array(repeating: 0, count: cap)
        values = Array(repeating: -1, count: cap)
        shift = UInt64(64 - cap.trailingZeroBitCount)
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Self.home(key, shift) }

    /// Where probing for `key` starts in a table of 2^(64 - `shift`) slots (Fibonacci hashing: FNV's low bits are
    /// weak, the product's high bits are not).
    @inline(__always)
    static func home(_ key: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    func get(_ key: UInt64) -> Int32 {
        let mask = keys.count - 1
        var i = slot(key)
        return keys.withUnsafeBufferPointer { k in
            while true {
                let stored = k[i]
                if stored == key { return values[i] }
                if stored == 0 { return -1 }
                i = (i + 1) & mask
            }
        }
    }

    mutating func set(_ key: UInt64, _ value: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var i = slot(key)
        while keys[i] != 0 && keys[i] != key { i = (i + 1) & mask }
        if keys[i] == 0 { count += 1 }
        keys[i] = key
        values[i] = value
    }

    /// Calls `body` with every key and value (in table order), to build derived tables.
    func forEach(_ body: (UInt64, Int32) -> Void) {
        for i in keys.indices where keys[i] != 0 { body(keys[i], values[i]) }
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let cap = keys.count * 2
        keys = Array(repeating: 0, count: cap)
        values = Array(repeating: -1, count: cap)
        shift = UInt64(64 - cap.trailingZeroBitCount)
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != 0 { set(k, v) }
    }
}

/// One whitespace-delimited word (or emoji) of a text, as byte offsets and hashes.
struct Token {
    static let upper: UInt16 = 1  // Python's str.isupper(): has upper-case letters and no lower-case
    static let negContraction: UInt16 = 2  // contains "n't"
    static let boundaryAfter: UInt16 = 4  // trailing punctuation ends a clause (, ; : . ! ?)
    static let sentenceEnd: UInt16 = 8  // trailing . ! ?
    static let number: UInt16 = 16
    static let emoji: UInt16 = 32
    static let letters: UInt16 = 64
    static let sentenceStart: UInt16 = 128
    static let question: UInt16 = 256  // trailing ?
    static let hasDigit: UInt16 = 512
    static let explicitStop: UInt16 = 1024  // trailing . or !
    static let mention: UInt16 = 2048  // @handle or URL: a name, not a word ("@united", "@delta")
    /// Set by `SentimentScorer.score`, which looks every word up in the lexicon: a negation ("not", "never", "no",
    /// a word with "n't") and a positive lexicon word, as the intent rules and complaint cues test them.
    static let negator: UInt16 = 4096
    static let positive: UInt16 = 8192
    /// Set by `Tokenizer.unstretch` on a word it read as the word it stretches ("Perfecttt" as "perfect").
    static let stretched: UInt16 = 16384
    /// Set by `SentimentScorer.score` on the words of a positive lexicon phrase ("can't go wrong", "can't wait to"):
    /// the complaint cues do not count them.
    static let praisePhrase: UInt16 = 32768

    /// Byte range of the word with leading and trailing punctuation stripped.
    var start: Int32
    var end: Int32
    /// Hash of the stripped, lowercased word.
    var hash: UInt64
    /// Hash of the raw token (with its punctuation) when it differs and may be an emoticon or hashtag; else 0.
    var altHash: UInt64
    var flags: UInt16
    /// Index of the word's slot in the engine's `Vocabulary` once resolved; -1 until then, and analysers then look
    /// the word up in their own tables.
    var term: Int32 = -1
    /// The word's record, copied in when it is resolved (all -1 before): each analyser reads its field from the
    /// token it is reading anyway, rather than from the vocabulary's table (about 800 KiB) once per stage.
    var fields = TermFields()

    @inline(__always) func has(_ f: UInt16) -> Bool { flags & f != 0 }
    var length: Int { Int(end - start) }

    /// The word's entry in one analyser's table (-1: absent): from `fields` once resolved, else `lookup` (the
    /// analyser's own table, which is then the only one read).
    @inline(__always) func entry(_ field: TermFields.Field, else lookup: @autoclosure () -> Int32) -> Int32 {
        term >= 0 ? fields[field] : lookup()
    }
}

/// What every word table of the engine holds for one word (-1: absent from that table), a field per analyser.
struct TermFields: Sendable {
    private var fields: (Int16, Int16, Int16, Int16, Int16, Int16, Int16, Int16) = (-1, -1, -1, -1, -1, -1, -1, -1)

    /// The analysers' tables, one field each.
    enum Field: Int {
        case lexicon, intentHead, numberWord, cueWord, cueHead, themeWord, themeHead, quality
    }

    subscript(field: Field) -> Int32 {
        @inline(__always) get {
            Int32(withUnsafeBytes(of: fields) { $0.load(fromByteOffset: 2 * field.rawValue, as: Int16.self) })
        }
        set {
            withUnsafeMutableBytes(of: &fields) {
                $0.storeBytes(of: Int16(newValue), toByteOffset: 2 * field.rawValue, as: Int16.self)
            }
        }
    }
}

/// A word's `TermFields` stored in the vocabulary's own hash slot: resolving a word then reads one cache line
/// instead of three (key, index, record), and those misses were the largest part of resolving.
struct TermRecord: Sendable {
    /// The word hash this slot holds; 0 for an empty slot.
    var key: UInt64 = 0
    var fields = TermFields()
}

/// The union of the analysers' word tables, so that a token is looked up once per text instead of once per
/// analyser (about ten probes per word before). An open-addressing table of `TermRecord`s (linear probing, at most
/// half full); the record after the slots is the word found in no table.
struct Vocabulary: Sendable {
    /// The slots, then the absent record: what a token's `term` indexes and its `fields` copy.
    private(set) var records: [TermRecord] = [TermRecord()]
    private var shift: UInt64 = 64
    private var mask = 0
    private var count = 0

    init() { grow() }

    /// Merges one analyser's table into the records through `field`; its values must fit in 16 bits.
    mutating func add(_ source: TermTable, _ field: TermFields.Field) throws {
        var largest: Int32 = -1
        source.forEach { _, value in largest = max(largest, value) }
        guard largest <= Int32(Int16.max) else { throw TooLarge(field: "\(field)", largest: Int(largest)) }
        source.forEach { key, value in records[slot(key)].fields[field] = value }
    }

    struct TooLarge: Error, CustomStringConvertible {
        var field: String
        var largest: Int
        var description: String {
            "word table too large: \(field) reaches entry \(largest), the vocabulary holds at most \(Int16.max)"
        }
    }

    /// The slot of `key`, taken if it is new (the table grows to stay at most half full).
    private mutating func slot(_ key: UInt64) -> Int {
        if (count + 1) * 2 > mask + 1 { grow() }
        let i = records.withUnsafeBufferPointer { probe(key, $0) }
        if records[i].key == 0 {
            records[i].key = key
            count += 1
        }
        return i
    }

    private mutating func grow() {
        let old = records.dropLast().filter { $0.key != 0 }
        let capacity = max(1024, (mask + 1) * 2)
        records = Array(repeating: TermRecord(), count: capacity + 1)
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        mask = capacity - 1
        for r in old { records[records.withUnsafeBufferPointer { probe(r.key, $0) }] = r }
    }

    /// The slot holding `key`, or the empty slot where probing for it stops.
    @inline(__always)
    private func probe(_ key: UInt64, _ slots: UnsafeBufferPointer<TermRecord>) -> Int {
        var i = TermTable.home(key, shift)
        while slots[i].key != 0 && slots[i].key != key { i = (i &+ 1) & mask }
        return i
    }

    /// Whether some table of the engine holds the word of `hash`.
    func contains(_ hash: UInt64) -> Bool {
        records.withUnsafeBufferPointer { slots in slots[probe(hash, slots)].key != 0 }
    }

    /// Makes a token a word of no table: its term and fields the absent record's.
    @inline(__always)
    func clear(_ t: inout Token) {
        t.term = Int32(mask + 1)
        t.fields = records[mask + 1].fields
    }

    /// Sets every token's `term` and `fields`: its record, or the absent record.
    @inline(__always)
    func resolve(_ toks: UnsafeMutableBufferPointer<Token>, _ n: Int) {
        let absent = Int32(mask + 1)
        records.withUnsafeBufferPointer { slots in
            for t in 0..<n {
                let i = probe(toks[t].hash, slots)
                toks[t].term = slots[i].key == 0 ? absent : Int32(truncatingIfNeeded: i)
                toks[t].fields = slots[i].fields
            }
        }
    }
}

/// Text-wide facts gathered during tokenisation.
struct TextStats {
    var exclamations = 0
    var questions = 0
    /// Words with letters: only whether there are any matters.
    var letters = 0
    var urls = 0
    /// Whether an ASCII letter repeats 12 or more times in a row: keyboard mashing ("aaaaaaaaaaaa"), or a human's
    /// "Noooooooooooo" (the quality stage tells them apart by the words around it). Punctuation ("!!!!!!!!!!!!"),
    /// spaces and other scripts are not runs: customers write them, and lead bytes repeat across different kana.
    var longRun = false
    /// Non-ASCII scalars that are not emoji or separators (letters of other scripts, accents...).
    var otherScalars = 0

    /// Counts `b` if it is an exclamation or a question mark.
    @inline(__always)
    mutating func countMarks(_ b: UInt8) {
        exclamations &+= b == 0x21 ? 1 : 0
        questions &+= b == 0x3F ? 1 : 0
    }
}

/// Classes of a byte for the tokenizer, one table lookup instead of a chain of comparisons: the chains
/// mispredicted on capitals, digits and doubled letters, and the tokenizer was the largest part of enrichment.
enum ByteClass {
    static let space: UInt8 = 1
    /// Python's `string.punctuation`.
    static let punct: UInt8 = 2
    static let upper: UInt8 = 4
    static let lower: UInt8 = 8
    static let digit: UInt8 = 16
    static let alphanumeric: UInt8 = upper | lower | digit
    /// Counts as "other" in a word: neither a letter nor a digit, nor the "," and "." of numbers.
    static let other: UInt8 = 32

    static let table: [UInt8] = (0..<256).map { i in
        let b = UInt8(i)
        var c: UInt8 = 0
        if Tokenizer.isSpace(b) { c |= space }
        if Tokenizer.isPunct(b) { c |= punct }
        if b >= 0x41 && b <= 0x5A {
            c |= upper
        } else if b >= 0x61 && b <= 0x7A {
            c |= lower
        } else if b >= 0x30 && b <= 0x39 {
            c |= digit
        } else if b != 0x2C && b != 0x2E {
            c |= other
        }
        return c
    }
}

enum Tokenizer {
    @inline(__always)
    static func isPunct(_ b: UInt8) -> Bool {
        // Python's string.punctuation
        (b >= 0x21 && b <= 0x2F) || (b >= 0x3A && b <= 0x40) || (b >= 0x5B && b <= 0x60) || (b >= 0x7B && b <= 0x7E)
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    @inline(__always)
    static func isEmoji(_ s: UInt32) -> Bool {
        (s >= 0x1F000 && s <= 0x1FAFF && !(s >= 0x1F3FB && s <= 0x1F3FF)) || (s >= 0x2600 && s <= 0x27BF)
            || (s >= 0x2300 && s <= 0x23FF) || (s >= 0x2B00 && s <= 0x2BFF) || s == 0x2764
    }

    /// Zero-width joiners, variation selectors, skin tones and no-break spaces separate words.
    @inline(__always)
    static func isSeparatorScalar(_ s: UInt32) -> Bool {
        s == 0x200D || s == 0xFE0F || s == 0xFE0E || (s >= 0x1F3FB && s <= 0x1F3FF) || s == 0xA0 || s == 0x2026
            || (s >= 0x2000 && s <= 0x200B) || s == 0x3000
    }

    @inline(__always)
    static func decode(_ buf: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
        let b0 = UInt32(buf[i])
        let n = buf.count
        if b0 < 0xE0 {
            guard i + 1 < n else { return (b0, 1) }
            return (((b0 & 0x1F) << 6) | (UInt32(buf[i + 1]) & 0x3F), 2)
        } else if b0 < 0xF0 {
            guard i + 2 < n else { return (b0, 1) }
            return (((b0 & 0x0F) << 12) | ((UInt32(buf[i + 1]) & 0x3F) << 6) | (UInt32(buf[i + 2]) & 0x3F), 3)
        } else {
            guard i + 3 < n else { return (b0, 1) }
            return (
                ((b0 & 0x07) << 18) | ((UInt32(buf[i + 1]) & 0x3F) << 12) | ((UInt32(buf[i + 2]) & 0x3F) << 6)
                    | (UInt32(buf[i + 3]) & 0x3F), 4
            )
        }
    }

    /// Upper bound of the number of tokens of a text of `byteCount` bytes.
    @inline(__always)
    static func capacity(_ byteCount: Int) -> Int { byteCount / 2 + 2 }

    /// Splits `buf`, valid UTF-8 (a `String`'s bytes), into tokens written to `out`; returns the number of tokens.
    static func tokenize(
        _ buf: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<Token>, stats: inout TextStats
    ) -> Int {
        ByteClass.table.withUnsafeBufferPointer { classes in tokenize(buf, out, &stats, classes) }
    }

    /// The token being read. Each byte of its word (the bytes from the first that is not punctuation) is hashed as
    /// it is read, instead of in a second pass over the word after stripping its punctuation. Punctuation inside a
    /// token is held back until a later byte shows that it belongs to the word ("don't", "e-mail") rather than
    /// following it ("place!").
    struct OpenToken {
        /// First byte of the token.
        var start = -1
        /// First byte of the word; -1 while the token is only punctuation.
        var word = -1
        /// First of the punctuation bytes held back; -1 when none is.
        var held = -1
        var hash = TermHash.offset
        /// The union of the classes of the word's bytes (`ByteClass`): non-ASCII bytes count as other, a curly
        /// apostrophe as nothing (as the straight one it stands for, it keeps "1’2" a number's shape).
        var classes: UInt8 = 0
        /// Whether the word holds an apostrophe, straight or curly: only then can it hold "n't".
        var apostrophe = false

        @inline(__always)
        mutating func add(_ b: UInt8, _ c: UInt8) {
            classes |= c
            let lc = b | ((c & ByteClass.upper) << 3)  // ASCII lower case: the upper bit (4) moved to 0x20
            hash = (hash ^ UInt64(lc)) &* TermHash.prime
        }

        /// Takes the held punctuation into the word: a byte of the word follows it.
        @inline(__always)
        mutating func release(
            _ buf: UnsafeBufferPointer<UInt8>, upTo i: Int, _ classes: UnsafeBufferPointer<UInt8>,
            _ stats: inout TextStats
        ) {
            for k in held..<i {
                let b = buf[k]
                add(b, classes[Int(b)])
                if b == 0x27 { apostrophe = true }
                stats.countMarks(b)
            }
            held = -1
        }
    }

    /// A line break ends a sentence as a full stop does: customers write lines without punctuation ("Great
    /// service\nNot happy with the price"), and negations and phrases do not run on into the next line.
    static let lineEnd: UInt16 = Token.boundaryAfter | Token.sentenceEnd

    /// One pass over the bytes that keeps only the open token's state: the text-wide counts are taken where they
    /// are cheaper (exclamation and question marks are punctuation, met only where a token's punctuation is read;
    /// long runs are looked for afterwards), so that the word's hash stays in a register.
    @inline(__always)
    private static func tokenize(
        _ buf: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutableBufferPointer<Token>, _ stats: inout TextStats,
        _ classes: UnsafeBufferPointer<UInt8>
    ) -> Int {
        var n = 0
        var i = 0
        let count = buf.count
        var ascii = true
        var tok = OpenToken()
        while i < count {
            let b = buf[i]
            if b < 0x80 {
                let c = classes[Int(b)]
                i &+= 1
                if c & ByteClass.space != 0 {
                    if tok.start >= 0 {
                        finish(buf, tok, i &- 1, out, &n, &stats, classes)
                        tok.start = -1
                    }
                    if b == 0x0A && n > 0 { out[n &- 1].flags |= lineEnd }
                    continue
                }
                if tok.start < 0 {
                    if c & ByteClass.alphanumeric != 0 {
                        // A token that starts with a letter or digit: its letters and digits are read by a loop of
                        // their own, and if a space or the end follows, it is written here. Most words are such
                        // tokens, and the general loop below spent a mispredicted branch or two per word on them.
                        var word = OpenToken(start: i &- 1)
                        word.word = word.start
                        var j = word.start
                        while j < count {
                            let bj = buf[j]
                            let cj = classes[Int(bj)]  // a non-ASCII byte is `other`: it ends the run
                            if cj & ByteClass.alphanumeric == 0 { break }
                            word.add(bj, cj)
                            j &+= 1
                        }
                        if j == count || classes[Int(buf[j])] & ByteClass.space != 0 {
                            writeWord(buf, word, j, out, &n, &stats)
                            if j < count && buf[j] == 0x0A { out[n &- 1].flags |= lineEnd }
                            i = j == count ? j : j &+ 1
                        } else if j - word.start > 2, let mark = markFlags(buf[j]),
                            j &+ 1 == count || classes[Int(buf[j &+ 1])] & ByteClass.space != 0
                        {
                            // one of . , ! ? ; : ) then a space or the end ("perfectly. ", "ok, "): what `finish` writes
                            // for it (a word of one or two letters keeps the general path, which hashes it whole too)
                            stats.countMarks(buf[j])
                            writeWord(buf, word, j, out, &n, &stats, flags: mark)
                            if j &+ 1 < count && buf[j &+ 1] == 0x0A { out[n &- 1].flags |= lineEnd }
                            i = j &+ 1 == count ? j &+ 1 : j &+ 2
                        } else {
                            // punctuation or a non-ASCII character follows: the general loop goes on from there
                            tok = word
                            i = j
                        }
                        continue
                    }
                    tok = OpenToken(start: i &- 1)
                }
                if c & ByteClass.punct == 0 {
                    if tok.word < 0 {
                        tok.word = i &- 1
                    } else if tok.held >= 0 {
                        resume(&tok, at: i &- 1, buf, out, &n, &stats, classes)
                    }
                    tok.add(b, c)
                } else if tok.word >= 0 && tok.held < 0 {
                    tok.held = i &- 1
                }
                continue
            }
            ascii = false
            let (s, len) = decode(buf, i)
            if isEmoji(s) {
                if tok.start >= 0 {
                    finish(buf, tok, i, out, &n, &stats, classes)
                    tok.start = -1
                }
                var f = Token.emoji
                if n == 0 || out[n - 1].has(Token.sentenceEnd) { f |= Token.sentenceStart }
                out[n] = Token(start: Int32(i), end: Int32(i + len), hash: TermHash.emoji(s), altHash: 0, flags: f)
                n += 1
            } else if isSeparatorScalar(s) {
                if tok.start >= 0 {
                    finish(buf, tok, i, out, &n, &stats, classes)
                    tok.start = -1
                }
            } else {
                stats.otherScalars += 1
                if tok.start < 0 { tok = OpenToken(start: i) }
                if tok.word < 0 {
                    tok.word = i
                } else if tok.held >= 0 {
                    resume(&tok, at: i, buf, out, &n, &stats, classes)
                }
                if len == 3 && (s == 0x2019 || s == 0x2018) {
                    // a curly apostrophe is a straight one in every word table
                    tok.hash = (tok.hash ^ 0x27) &* TermHash.prime
                    tok.apostrophe = true
                } else {
                    tok.classes |= ByteClass.other
                    for k in i..<(i + len) { tok.hash = (tok.hash ^ UInt64(buf[k])) &* TermHash.prime }
                }
            }
            i += len
        }
        if tok.start >= 0 { finish(buf, tok, count, out, &n, &stats, classes) }
        if n > 0 { out[n - 1].flags |= Token.boundaryAfter | Token.sentenceEnd }
        stats.longRun = stats.longRun || hasLongRun(buf, ascii: ascii)
        return n
    }

    /// Whether an ASCII letter comes three times in a row. Sixteen positions at a time: byte i of `x` is zero when
    /// the bytes at k + i, k + i + 1 and k + i + 2 are equal (the zero-byte test per 64-bit half), and only such a
    /// block is read byte by byte for a letter, so runs of marks ("...", "!!!"), digits or spaces are none.
    /// (Swift's SIMD comparisons and `any` compile to per-lane loops here; XOR, OR and 64-bit arithmetic do not.)
    static func hasLetterTriple(_ buf: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(buf)
        @inline(__always) func letterTriple(at i: Int) -> Bool {
            let b = raw[i]
            return b == raw[i + 1] && b == raw[i + 2] && isASCIILetter(b)
        }
        let count = raw.count
        guard count >= 18 else {
            var k = 0
            while k + 2 < count {
                if letterTriple(at: k) { return true }
                k += 1
            }
            return false
        }
        // blocks from 0 in steps of 16, the last one moved back to end the text (it may overlap the one before)
        var k = 0
        while true {
            let a = raw.loadUnaligned(fromByteOffset: k, as: SIMD16<UInt8>.self)
            let b = raw.loadUnaligned(fromByteOffset: k + 1, as: SIMD16<UInt8>.self)
            let c = raw.loadUnaligned(fromByteOffset: k + 2, as: SIMD16<UInt8>.self)
            let w = unsafeBitCast((a ^ b) | (a ^ c), to: SIMD2<UInt64>.self)
            let z = (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
            if z[0] | z[1] != 0 {
                for i in k..<(k + 16) where letterTriple(at: i) { return true }
            }
            if k == count - 18 { return false }
            k = min(k + 16, count - 18)
        }
    }

    @inline(__always) static func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }

    /// Words `unstretch` does not make of a stretched word.
    static let unstretchedNever: Set<UInt64> = Set(["no", "nor", "non", "i", "a", "o"].map { TermHash.of($0) })

    /// Words with a letter written three or more times in a row ("loooove", "soooo", "baaaad") that no table
    /// knows take the hash of the word they stretch, if `known` knows it: each run cut to two letters ("good",
    /// "cool"), else to one ("love", "bad"). Only ASCII words; their bytes stay as written, and they are flagged
    /// `Token.stretched`. A text without a letter three times in a row (nearly all) is only scanned once.
    static func unstretch(
        _ buf: UnsafeBufferPointer<UInt8>, _ toks: UnsafeMutableBufferPointer<Token>, known: (UInt64) -> Bool
    ) {
        guard hasLetterTriple(buf) else { return }
        for t in toks.indices where toks[t].has(Token.letters) && !toks[t].has(Token.mention) && toks[t].length >= 3 {
            let s = Int(toks[t].start)
            let e = Int(toks[t].end)
            var stretched = false
            var ascii = true
            for k in s..<e {
                let b = buf[k]
                if b >= 0x80 { ascii = false }
                if k >= s + 2 && b == buf[k - 1] && b == buf[k - 2] && isASCIILetter(b) {
                    stretched = true
                }
            }
            guard stretched, ascii, !known(toks[t].hash) else { continue }
            for limit in stride(from: 2, through: 1, by: -1) {
                var h = TermHash.offset
                var previous: UInt8 = 0
                var run = 0
                for k in s..<e {
                    var b = buf[k]
                    if b >= 0x41 && b <= 0x5A { b |= 0x20 }
                    run = b == previous ? run + 1 : 1
                    previous = b
                    if run <= limit { h = (h ^ UInt64(b)) &* TermHash.prime }
                }
                if h == 0 { h = 1 }
                // not to a single letter ("III"), nor to "no" ("Nooo way", Spanish "Nooo me gusta"); "Nooooot
                // happy" is "not happy"
                if limit == 1 && (e - s <= 3 || Self.unstretchedNever.contains(h)) { break }
                if known(h) {
                    toks[t].hash = h
                    toks[t].flags |= Token.stretched
                    break
                }
            }
        }
    }

    /// A word byte at `i` follows the open token's held marks: they join the word ("don't", "e-mail") or end it
    /// ("great...no"), and the byte starts the next.
    @inline(__always)
    private static func resume(
        _ tok: inout OpenToken, at i: Int, _ buf: UnsafeBufferPointer<UInt8>, _ out: UnsafeMutableBufferPointer<Token>,
        _ n: inout Int, _ stats: inout TextStats, _ classes: UnsafeBufferPointer<UInt8>
    ) {
        if splitsWords(buf, classes, word: tok.word, held: tok.held, at: i) {
            finish(buf, tok, i, out, &n, &stats, classes)
            tok = OpenToken(start: i)
            tok.word = i
        } else {
            tok.release(buf, upTo: i, classes, &stats)
        }
    }

    /// Whether the marks `buf[held..<j]` between two words end the first instead of joining them: customers leave
    /// out the space after a mark ("great...no problems", "ok,not good", "bad.Food"), and one token of two words
    /// hides both from every word table. Numbers, abbreviations, domains and links stay whole. Out of line, so
    /// that the byte loop, which rarely calls it, keeps its registers.
    @inline(never)
    static func splitsWords(
        _ buf: UnsafeBufferPointer<UInt8>, _ classes: UnsafeBufferPointer<UInt8>, word: Int, held: Int, at j: Int
    ) -> Bool {
        for k in held..<j {
            let p = buf[k]
            guard p == 0x2E || p == 0x2C || p == 0x21 || p == 0x3F || p == 0x3B else { return false }
        }
        // a link, or a path without a scheme ("amazon.com/dp/B01?tag=x")
        if isLink(buf, word, j) || buf[word..<held].contains(0x2F) { return false }
        if j - held >= 2 { return true }
        // a non-ASCII byte counts as a letter of either case
        let before = buf[held - 1] < 0x80 ? classes[Int(buf[held - 1])] : ByteClass.upper | ByteClass.lower
        let after = buf[j] < 0x80 ? classes[Int(buf[j])] : ByteClass.upper | ByteClass.lower
        let letter = ByteClass.upper | ByteClass.lower
        switch buf[held] {
        case 0x2C: return before & letter != 0 && after & letter != 0
        case 0x2E: return before & ByteClass.lower != 0 && after & ByteClass.upper != 0 && buf[j] < 0x80
        default: return true
        }
    }

    /// Whether a byte repeats 12 times in a row, a non-ASCII character counting as its lead byte. In ASCII text such
    /// a run covers one of the text's four-byte blocks (offsets 4k to 4k + 3) with four equal bytes, so a text
    /// without such a block is not walked.
    static func hasLongRun(_ buf: UnsafeBufferPointer<UInt8>, ascii: Bool) -> Bool {
        if ascii {
            let raw = UnsafeRawBufferPointer(buf)
            var k = 0
            var uniform = false
            while k + 4 <= raw.count && !uniform {
                let w = raw.loadUnaligned(fromByteOffset: k, as: UInt32.self)
                uniform = w == (w >> 8 | w << 24)
                k += 4
            }
            guard uniform else { return false }
        }
        var runByte: UInt8 = 0
        var run = 0
        var i = 0
        while i < buf.count {
            let b = buf[i]
            let letter = isASCIILetter(b)
            run = letter && b == runByte ? run + 1 : 1
            runByte = b
            if run >= 12 { return true }
            i += b < 0x80 ? 1 : decode(buf, i).1
        }
        return false
    }

    /// Writes the open token, which ends before `e0`. The token comes by value: passed `inout` to this call, which
    /// the compiler outlines, it would live in memory, and its hash with it, through the whole byte loop.
    private static func finish(
        _ buf: UnsafeBufferPointer<UInt8>, _ tok: OpenToken, _ e0: Int, _ out: UnsafeMutableBufferPointer<Token>,
        _ n: inout Int, _ stats: inout TextStats, _ classes: UnsafeBufferPointer<UInt8>
    ) {
        let s0 = tok.start
        var flags: UInt16 = 0
        if n == 0 || out[n - 1].has(Token.sentenceEnd) { flags |= Token.sentenceStart }
        guard tok.word >= 0 else {  // punctuation only (emoticon such as ":)" or a dash)
            var h = TermHash.offset
            for k in s0..<e0 {
                h = (h ^ UInt64(buf[k])) &* TermHash.prime
                stats.countMarks(buf[k])
            }
            out[n] = Token(start: Int32(s0), end: Int32(e0), hash: h == 0 ? 1 : h, altHash: 0, flags: flags)
            n += 1
            return
        }
        let s = tok.word
        let e = tok.held >= 0 ? tok.held : e0
        for k in s0..<s { stats.countMarks(buf[k]) }
        // trailing punctuation
        var j = e
        while j < e0 {
            stats.countMarks(buf[j])
            flags |= markFlags(buf[j]) ?? 0
            j += 1
        }
        flags |= classFlags(tok.classes, &stats)
        if tok.apostrophe && hasNegativeContraction(buf, s, e) { flags |= Token.negContraction }
        var alt: UInt64 = 0
        if s != s0 || (e - s <= 2 && e != e0) {
            var ha = TermHash.offset
            var q = s0
            // keep leading punctuation (hashtags, emoticons), drop trailing sentence punctuation for hashtags
            let rawEnd = (s != s0 && e - s > 2) ? e : e0
            while q < rawEnd {
                let c = buf[q]
                ha = (ha ^ UInt64(c >= 0x41 && c <= 0x5A ? c | 0x20 : c)) &* TermHash.prime
                q += 1
            }
            alt = ha == 0 ? 1 : ha
        }
        if buf[s0] == 0x40 && s == s0 + 1 { flags |= Token.mention }
        if isLink(buf, s, e) {
            stats.urls += 1
            flags |= Token.mention
        }
        let h = tok.hash
        out[n] = Token(start: Int32(s), end: Int32(e), hash: h == 0 ? 1 : h, altHash: alt, flags: flags)
        n += 1
    }

    /// Writes the open token, of letters and digits only and ending before the space (or the text's end) at `e`:
    /// what `finish` writes for it, without the punctuation cases.
    @inline(__always)
    private static func writeWord(
        _ buf: UnsafeBufferPointer<UInt8>, _ tok: OpenToken, _ e: Int, _ out: UnsafeMutableBufferPointer<Token>,
        _ n: inout Int, _ stats: inout TextStats, flags mark: UInt16 = 0
    ) {
        var flags = classFlags(tok.classes, &stats) | mark
        if n == 0 || out[n - 1].has(Token.sentenceEnd) { flags |= Token.sentenceStart }
        if isLink(buf, tok.start, e) {
            stats.urls += 1
            flags |= Token.mention
        }
        let h = tok.hash
        out[n] = Token(start: Int32(tok.start), end: Int32(e), hash: h == 0 ? 1 : h, altHash: 0, flags: flags)
        n += 1
    }

    /// The flags one trailing mark gives its word (`finish`, and the fast path for a word and one mark); nil for any
    /// other byte.
    @inline(__always)
    private static func markFlags(_ c: UInt8) -> UInt16? {
        switch c {
        case 0x2E, 0x21: Token.boundaryAfter | Token.sentenceEnd | Token.explicitStop
        case 0x3F: Token.boundaryAfter | Token.sentenceEnd | Token.question
        case 0x2C, 0x3B, 0x3A, 0x29: Token.boundaryAfter
        default: nil
        }
    }

    /// The flags the classes of a word's bytes give (case, letters, digits, a number), counting the word in
    /// `stats.letters` when it has letters.
    @inline(__always)
    private static func classFlags(_ cl: UInt8, _ stats: inout TextStats) -> UInt16 {
        var flags: UInt16 = 0
        let upper = cl & ByteClass.upper != 0
        let lower = cl & ByteClass.lower != 0
        if upper && !lower { flags |= Token.upper }
        if upper || lower {
            flags |= Token.letters
            stats.letters += 1
        }
        if cl & ByteClass.digit != 0 {
            flags |= Token.hasDigit
            if !upper && !lower && cl & ByteClass.other == 0 { flags |= Token.number }
        }
        return flags
    }

    /// Whether the word `buf[s..<e]` is a link, a cheap test: it starts with "http" (with room for "://") or "www.".
    @inline(__always)
    static func isLink(_ buf: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        guard e - s >= 4 else { return false }
        let c0 = buf[s] | 0x20
        return
            (c0 == 0x68 && e - s >= 7 && buf[s + 1] | 0x20 == 0x74 && buf[s + 2] | 0x20 == 0x74
            && buf[s + 3] | 0x20 == 0x70)
            || (c0 == 0x77 && buf[s + 1] | 0x20 == 0x77 && buf[s + 2] | 0x20 == 0x77 && buf[s + 3] == 0x2E)
    }

    /// Whether the word `buf[s..<e]`, lowercased and with curly apostrophes straightened, contains "n't".
    private static func hasNegativeContraction(_ buf: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        var window: UInt32 = 0
        var k = s
        while k < e {
            var lc = buf[k]
            if lc == 0xE2 && k + 2 < e && buf[k + 1] == 0x80 && (buf[k + 2] == 0x99 || buf[k + 2] == 0x98) {
                lc = 0x27
                k += 2
            } else if lc >= 0x41 && lc <= 0x5A {
                lc |= 0x20
            }
            window = ((window << 8) | UInt32(lc)) & 0xFF_FFFF
            if window == 0x6E_2774 { return true }
            k += 1
        }
        return false
    }
}

/// Function words the analysers test one at a time.
extension TermHash {
    static let but = of("but")
    static let however = of("however")
    static let `else` = of("else")
    static let nothing = of("nothing")
    static let not = of("not")
    static let wouldnt = of("wouldn't")
    static let to = of("to")
    static let that = of("that")
    static let you = of("you")
    static let `for` = of("for")
    static let out = of("out")
    static let back = of("back")
    static let how = of("how")
    static let me = of("me")
}
