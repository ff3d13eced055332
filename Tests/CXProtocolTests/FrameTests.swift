import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf
import Testing

@Suite("Frames, compression, signatures and bounds")
struct FrameTests {
    static let decoder = FrameDecoder()
    static func key(_ id: String) -> AgentPublicKey? { id == Fixtures.agentID ? Fixtures.signingKey.publicKey : nil }

    /// A message that compresses better than the receivers' ratio limit (long repeated values, e.g. 500 copies of
    /// one long setting in an ack) was framed compressed, refused by every receiver, and sent again for good: it goes
    /// uncompressed; one within the limit is still compressed.
    @Test(arguments: [(100_000, false), (2_000, true)])
    func aMessageBeyondTheRatioLimitIsSentUncompressed(size: Int, compressed: Bool) throws {
        let message = [UInt8](repeating: 0, count: size - 200) + (0..<200).map { UInt8($0) }
        let frame = FrameEncoder().frame(message: message, kind: .ack)
        let header = try Self.decoder.header(of: frame)
        #expect(header.flags.contains(.zstd) == compressed)
        #expect(try Self.decoder.payload(of: frame, header: header) == message)
    }

    @Test(arguments: [0, 1, 10, 1000])
    func batchRoundTripsThroughAFrame(count: Int) throws {
        let events = Fixtures.events(count: max(count, 1))
        let frame = FrameEncoder().frame(Fixtures.batch(events), kind: .batch, signer: Fixtures.signer)
        let batch = try Self.decoder.decodeBatch(frame, key: Self.key)
        #expect(batch.events == events)
        #expect(batch.seqRange == events.first!.seq...events.last!.seq)
    }

    @Test func unknownAgentAndUnsignedFramesAreRefused() throws {
        let b = Fixtures.batch(Fixtures.events(count: 2))
        let signed = FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer)
        #expect(throws: ProtocolError.self) { try Self.decoder.decodeBatch(signed, key: { _ in nil }) }
        let unsigned = FrameEncoder().frame(b, kind: .batch)
        do {
            _ = try Self.decoder.decodeBatch(unsigned, key: Self.key)
            Issue.record("unsigned batch accepted")
        } catch {
            #expect(error.code == .missingSignature)
        }
    }

    @Test func aSignatureFromAnotherKeyDoesNotVerify() {
        let other = AgentSigningKey()
        let frame = FrameEncoder().frame(
            Fixtures.batch(Fixtures.events(count: 2)), kind: .batch, signer: (Fixtures.agentID, other))
        do {
            _ = try Self.decoder.decodeBatch(frame, key: Self.key)
            Issue.record("forged batch accepted")
        } catch {
            #expect(error.code == .badSignature)
        }
    }

    @Test(arguments: 0..<64)
    func everyTruncationIsRefusedCleanly(cut: Int) {
        let frame = FrameEncoder().frame(
            Fixtures.batch(Fixtures.events(count: 5)), kind: .batch, signer: Fixtures.signer)
        let length = cut * frame.count / 64
        #expect(throws: ProtocolError.self) { try Self.decoder.decodeBatch(Array(frame[0..<length]), key: Self.key) }
    }

    @Test func flippedBitsAnywhereNeverCrashAndNeverPass() {
        let frame = FrameEncoder().frame(
            Fixtures.batch(Fixtures.events(count: 5)), kind: .batch, signer: Fixtures.signer)
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<500 {
            var f = frame
            let i = Int.random(in: 0..<f.count, using: &rng)
            f[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            #expect(throws: ProtocolError.self) { try Self.decoder.decodeBatch(f, key: Self.key) }
        }
    }

    @Test func declaredSizeBeyondTheLimitIsRefusedBeforeInflating() {
        var limits = ProtocolLimits()
        limits.maxDecompressedBytes = 1000
        let frame = FrameEncoder().frame(
            Fixtures.batch(Fixtures.events(count: 50)), kind: .batch, signer: Fixtures.signer)
        do {
            _ = try FrameDecoder(limits: limits).decodeBatch(frame, key: Self.key)
            Issue.record("oversized batch accepted")
        } catch {
            #expect(error.code == .decompressedTooLarge)
        }
    }

    @Test func oversizedFrameAndLongStringsAreRefused() throws {
        var limits = ProtocolLimits()
        limits.maxFrameBytes = 100
        let frame = FrameEncoder().frame(
            Fixtures.batch(Fixtures.events(count: 50)), kind: .batch, signer: Fixtures.signer)
        #expect(throws: ProtocolError.self) { try FrameDecoder(limits: limits).decodeBatch(frame, key: Self.key) }

        var b = Fixtures.batch(Fixtures.events(count: 1))
        b.events[0].text = String(repeating: "x", count: 5000)
        let long = FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer)
        do {
            _ = try Self.decoder.decodeBatch(long, key: Self.key)
            Issue.record("long text accepted")
        } catch {
            #expect(error.code == .stringTooLong)
            #expect(error.message.contains("events[0].text"))
        }
    }

    @Test func seqOutsideTheRangeOrRepeatedIsRefused() {
        var b = Fixtures.batch(Fixtures.events(count: 3))
        b.events[2].seq = 1
        let frame = FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer)
        do {
            _ = try Self.decoder.decodeBatch(frame, key: Self.key)
            Issue.record("repeated seq accepted")
        } catch {
            #expect(error.code == .invalidSeqRange)
        }
    }

    @Test func dictionaryCompressionShrinksSmallBatchesAndNeedsTheSameDictionary() throws {
        let dictionary = Fixtures.dictionary
        let b = Fixtures.batch(Fixtures.events(count: 10, seed: 99))
        let plain = FrameEncoder().frame(b, kind: .batch, signer: Fixtures.signer)
        let withDict = FrameEncoder(dictionary: dictionary).frame(b, kind: .batch, signer: Fixtures.signer)
        #expect(withDict.count < plain.count)
        #expect(try FrameDecoder(dictionaries: [dictionary]).decodeBatch(withDict, key: Self.key).events.count == 10)
        do {
            _ = try FrameDecoder().decodeBatch(withDict, key: Self.key)
            Issue.record("frame decoded without its dictionary")
        } catch {
            #expect(error.code == .unknownDictionary)
        }
    }

    @Test func zstdRoundTripAndCorruption() throws {
        let input = Array("the quick brown fox jumps over the lazy dog ".utf8) + Array(repeating: 7, count: 5000)
        let compressed = Zstd.compress(input)
        #expect(try Zstd.decompress(compressed[...], expectedLength: input.count, dictionary: nil) == input)
        #expect(throws: ProtocolError.self) {
            try Zstd.decompress(compressed[...], expectedLength: input.count + 1, dictionary: nil)
        }
        #expect(throws: ProtocolError.self) {
            try Zstd.decompress((compressed + [0, 0, 0])[...], expectedLength: input.count, dictionary: nil)
        }
    }

    @Test func binaryEncodingIsSmallerThanJSONPerEvent() throws {
        let events = Fixtures.events(count: 1000)
        let frame = FrameEncoder().frame(Fixtures.batch(events), kind: .batch, signer: Fixtures.signer)
        let json = try events.map { e -> String in
            var w = Cxsync_V1_Event(e.event, seq: e.seq, batchStoreID: "")
            w.seq = e.seq
            return try w.jsonString()
        }.joined(separator: "\n")
        let jsonZstd = Zstd.compress(Array(json.utf8))
        #expect(frame.count < jsonZstd.count)
    }
}
