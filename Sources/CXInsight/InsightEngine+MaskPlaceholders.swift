extension InsightEngine.Core {
    /// A token's hash for a word inside a mask: no table holds it, and it never equals a word's.
    static let placeholderHash: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Makes the words of the masker's replacements ("[PHONE]", "[EMAIL]", a configured pattern's token) words of no
    /// table, in a masked text's resolved tokens. Read as words, a customer's phone number tagged the text
    /// `electronics` ("phone"), an address `communication` ("email"), a configured loyalty number's "[LOYALTY]" the
    /// loyalty theme. Runs only on texts the masker changed.
    func maskPlaceholders(_ buf: UnsafeBufferPointer<UInt8>, _ toks: UnsafeMutableBufferPointer<Token>) {
        var covered: [Range<Int>] = []
        for m in maskTokens where !m.isEmpty && m.count <= buf.count {
            var p = 0
            while p <= buf.count - m.count {
                if buf[p] == m[0] && (1..<m.count).allSatisfy({ buf[p + $0] == m[$0] }) {
                    covered.append(p..<(p + m.count))
                    p += m.count
                } else {
                    p += 1
                }
            }
        }
        guard !covered.isEmpty else { return }
        for t in toks.indices {
            let word = Int(toks[t].start)..<Int(toks[t].end)
            guard covered.contains(where: { $0.lowerBound <= word.lowerBound && word.upperBound <= $0.upperBound })
            else { continue }
            vocabulary.clear(&toks[t])
            toks[t].hash = Self.placeholderHash
            toks[t].altHash = 0
        }
    }
}
