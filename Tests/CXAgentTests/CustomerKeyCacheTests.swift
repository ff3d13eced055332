import CXCore
import CXInsight
import Testing

@testable import CXAgent

/// The enricher's customer-key cache: a cache, so every answer must be the hasher's, whatever it holds.
@Suite struct CustomerKeyCacheTests {
    let hasher = try! CustomerIdentifierHasher(fleetKey: Array(repeating: 7, count: 32))

    /// Looks `id` up, counting the hasher's calls.
    func key(_ id: String, _ cache: inout CustomerKeyCache, calls: inout Int) -> CustomerKey.Halves? {
        cache.key(id) {
            calls += 1
            return hasher.key($0)
        }
    }

    @Test(arguments: [1, 2, 8, 11, 14, 15, 16, 17, 31, 40])
    func answersTheHashersKeyAndHashesOnce(length: Int) {
        var cache = CustomerKeyCache(capacity: 1000)
        var calls = 0
        let ids = (0..<300).map { n in String(String(repeating: "c", count: length) + "\(n)").suffix(length) }
            .map(String.init)
        let distinct = Set(ids)
        for _ in 0..<2 {
            for id in ids {
                let got = key(id, &cache, calls: &calls)
                #expect(got.map { CustomerKey.hex($0) } == hasher.hash(id), "\(id)")
            }
        }
        #expect(calls == distinct.count)
        #expect(cache.count == distinct.count)
    }

    @Test func identifiersThatDifferOnlyInLengthOrNulBytesAreHeldApart() {
        var cache = CustomerKeyCache(capacity: 100)
        var calls = 0
        let ids = ["a", "a\u{0}", "a\u{0}\u{0}", "\u{0}a", "A", "a-", "0", "00", "000000000000000"]
        for id in ids + ids {
            #expect(key(id, &cache, calls: &calls).map { CustomerKey.hex($0) } == hasher.hash(id), "\(Array(id.utf8))")
        }
        // The first pass hashes each; the second only those without a key, which are never cached.
        #expect(calls == ids.count + ids.filter { hasher.hash($0) == nil }.count)
    }

    @Test func identifiersThatCannotBeNormalisedAreNotCached() {
        var cache = CustomerKeyCache(capacity: 100)
        var calls = 0
        for _ in 0..<3 {
            #expect(key("", &cache, calls: &calls) == nil)
            #expect(key("  -  ", &cache, calls: &calls) == nil)
        }
        #expect(calls == 6)
        #expect(cache.count == 0)
    }

    @Test(arguments: [1, 64, 1000])
    func staysWithinItsCapacityAndStillAnswersRight(capacity: Int) {
        var cache = CustomerKeyCache(capacity: capacity)
        var calls = 0
        for n in 0..<5000 {
            let id = n % 2 == 0 ? "L\(n)" : "customer-\(n)@example.com"
            #expect(key(id, &cache, calls: &calls).map { CustomerKey.hex($0) } == hasher.hash(id))
            #expect(cache.count <= 2 * capacity)
        }
        #expect(calls == 5000)
        // The latest identifier is still held: asked again, it costs no hash.
        _ = key("customer-4999@example.com", &cache, calls: &calls)
        #expect(calls == 5000)
    }
}
