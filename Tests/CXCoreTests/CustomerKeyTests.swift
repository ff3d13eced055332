import CXCore
import Testing

struct CustomerKeyTests {
    /// Keys of many byte patterns read back as the bytes `hex` wrote: both halves, big-endian.
    @Test func halvesReadWhatHexWrites() {
        var rng = SystemRandomNumberGenerator()
        var samples: [[UInt8]] = [
            Array(repeating: 0, count: 16), Array(repeating: 0xFF, count: 16), Array(0..<16),
            Array((0..<16).reversed()),
        ]
        for _ in 0..<200 { samples.append((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        for bytes in samples {
            let high = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let low = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let read = CustomerKey.halves(CustomerKey.hex(bytes))
            #expect(read?.0 == high && read?.1 == low, "\(CustomerKey.hex(bytes))")
        }
    }

    /// Any byte that is not a lowercase hex digit, at any position of either half, makes the text an identifier
    /// rather than a key: it is stored as it is, never as wrong bytes.
    @Test(arguments: [0, 7, 15, 16, 31])
    func halvesRefuseAnyOtherByte(position: Int) {
        let key = Array("0123456789abcdef0123456789abcdef".utf8)
        #expect(CustomerKey.halves(String(decoding: key, as: UTF8.self)) != nil)
        for byte in UInt8(0)...UInt8(0x7F) where !(0x30...0x39).contains(byte) && !(0x61...0x66).contains(byte) {
            var text = key
            text[position] = byte
            #expect(CustomerKey.halves(String(decoding: text, as: UTF8.self)) == nil, "byte \(byte) at \(position)")
        }
        // Bytes from 0x80 up only come in multi-byte characters: each two-byte one (every lead byte C2-DF and every
        // continuation byte), a three-byte and a four-byte one, placed so that they cover `position` and keep 32
        // bytes.
        var characters = (0x80...0x7FF).map { Array(String(Unicode.Scalar($0)!).utf8) }
        characters += [Array("€".utf8), Array("\u{FFFD}".utf8), Array("😀".utf8)]
        for c in characters {
            var text = key
            let start = min(position, key.count - c.count)
            text.replaceSubrange(start..<(start + c.count), with: c)
            #expect(text.count == 32)
            #expect(CustomerKey.halves(String(decoding: text, as: UTF8.self)) == nil, "\(c) at \(start)")
        }
    }

    @Test(arguments: ["", "cust-016037", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0"])
    func halvesRefuseOtherLengths(text: String) {
        #expect(CustomerKey.halves(text) == nil)
    }
}
