import Crypto

/// HMAC-SHA256 (RFC 2104) on swift-crypto's `SHA256`, with both padded key blocks absorbed once.
///
/// Byte for byte what `HMAC<SHA256>` computes, through concrete calls: `HMAC`'s generic `update(data:)` went through
/// the `DataProtocol` witnesses and looked up generic metadata on every call. On 100,000 events of the standard
/// workload (15,844 first-seen customers) this measured 0.15 us per event faster, about 0.9 us per first-seen
/// customer.
struct KeyedSHA256: Sendable {
    /// SHA-256 after the key block XOR ipad: a MAC's message goes on from a copy of it.
    private let inner: SHA256
    /// SHA-256 after the key block XOR opad: it takes the inner digest.
    private let outer: SHA256

    init(key: [UInt8]) {
        var block = key.count > 64 ? Array(SHA256.hash(data: key)) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        var inner = SHA256()
        var outer = SHA256()
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
        block.map { $0 ^ 0x5C }.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// A MAC being computed: the message's bytes go to `update`, and `finalize` gives the MAC.
    struct Computation {
        private var inner: SHA256
        private let outer: SHA256

        fileprivate init(_ key: KeyedSHA256) {
            inner = key.inner
            outer = key.outer
        }

        mutating func update(_ bytes: UnsafeRawBufferPointer) {
            inner.update(bufferPointer: bytes)
        }

        func finalize() -> SHA256Digest {
            var outer = self.outer
            inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
            return outer.finalize()
        }
    }

    /// A computation for one message.
    func begin() -> Computation { Computation(self) }
}
