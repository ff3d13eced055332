import CXCore
import CXProtocol
import Foundation
import SwiftProtobuf
import Testing

/// The golden vectors of protocol/vectors: NAME.bin (a frame) and NAME.json (its readable rendering and,
/// for malformed frames, the exact error code it must produce).
///
/// `CX_REGENERATE_VECTORS=1 swift test --filter GoldenVectorTests` rewrites them (scripts/regen-vectors.sh).
@Suite("Golden vectors", .serialized)
struct GoldenVectorTests {
    struct Vector: Sendable, CustomStringConvertible {
        var name: String
        var dictionary: Bool = false
        var expectedError: ProtocolError.Code?
        var make: @Sendable (FrameEncoder) -> [UInt8]
        var description: String { name }
    }

    static func frame(_ b: Cxsync_V1_Batch, _ encoder: FrameEncoder) -> [UInt8] {
        encoder.frame(b, kind: .batch, signer: Fixtures.signer)
    }

    static let valid: [Vector] = [
        Vector(name: "small-batch") { frame(Fixtures.batch(Fixtures.events(count: 3)), $0) },
        Vector(name: "batch-1000") { frame(Fixtures.batch(Fixtures.events(count: 1000)), $0) },
        Vector(name: "lww-updates") { frame(Fixtures.lwwBatch(), $0) },
        Vector(name: "alert-updates") { frame(Fixtures.alertBatch(), $0) },
        Vector(name: "erasure") { frame(Fixtures.erasureBatch(), $0) },
        Vector(name: "poll") { frame(Fixtures.pollBatch(), $0) },
        Vector(name: "columns-small") { frame(Fixtures.columnBatch(Fixtures.events(count: 3)), $0) },
        Vector(name: "columns-1000") { frame(Fixtures.columnBatch(Fixtures.events(count: 1000)), $0) },
        Vector(name: "dictionary-batch", dictionary: true) {
            frame(Fixtures.batch(Fixtures.events(count: 10, seed: 9)), $0)
        },
    ]

    static let malformed: [Vector] = [
        Vector(name: "bad-magic", expectedError: .badMagic) {
            var f = frame(Fixtures.batch(Fixtures.events(count: 2)), $0)
            f[0] = UInt8(ascii: "X")
            return f
        },
        Vector(name: "unsupported-version", expectedError: .unsupportedVersion) {
            var f = frame(Fixtures.batch(Fixtures.events(count: 2)), $0)
            f[4] = 9
            return f
        },
        Vector(name: "truncated", expectedError: .truncatedFrame) {
            Array(frame(Fixtures.batch(Fixtures.events(count: 20)), $0).dropLast(100))
        },
        Vector(name: "zstd-bomb", expectedError: .decompressedTooLarge) { encoder in
            // 60 MB of zeros compress to a few KB: the header's ratio check refuses it before inflating.
            encoder.frame(
                message: [UInt8](repeating: 0, count: 60_000_000), kind: .batch, signer: Fixtures.signer,
                ratioLimit: nil)
        },
        Vector(name: "hash-mismatch", expectedError: .hashMismatch) { encoder in
            var f = frame(Fixtures.batch(Fixtures.events(count: 2)), encoder)
            f[20] ^= 0xFF
            // Re-sign so that only the hash is wrong.
            let signedEnd = f.count - 64
            return Array(f[0..<signedEnd]) + Fixtures.signingKey.signature(for: f[0..<signedEnd])
        },
        Vector(name: "bad-signature", expectedError: .badSignature) {
            var f = frame(Fixtures.batch(Fixtures.events(count: 2)), $0)
            f[f.count - 1] ^= 0x01
            return f
        },
        Vector(name: "too-many-events", expectedError: .tooManyItems) {
            frame(Fixtures.batch(Fixtures.events(count: 10_001)), $0)
        },
        Vector(name: "columns-and-rows", expectedError: .invalidField) {
            var b = Fixtures.columnBatch(Fixtures.events(count: 3))
            b.events = Fixtures.batch(Fixtures.events(count: 3)).events
            return frame(b, $0)
        },
        Vector(name: "columns-short-column", expectedError: .invalidField) {
            var b = Fixtures.columnBatch(Fixtures.events(count: 3))
            b.eventColumns.occurredAtDeltas.removeLast()
            return frame(b, $0)
        },
        Vector(name: "columns-bad-reference", expectedError: .invalidField) {
            var b = Fixtures.columnBatch(Fixtures.events(count: 3))
            b.eventColumns.device[2] = 9
            return frame(b, $0)
        },
        Vector(name: "columns-text-lengths", expectedError: .invalidField) {
            var b = Fixtures.columnBatch(Fixtures.events(count: 3))
            b.eventColumns.textLengths[0] += 1
            return frame(b, $0)
        },
        Vector(name: "identity-mismatch", expectedError: .identityMismatch) {
            var b = Fixtures.batch(Fixtures.events(count: 2))
            b.agentID = "agent-someone-else"
            return frame(b, $0)
        },
    ]

    static let regenerate = ProcessInfo.processInfo.environment["CX_REGENERATE_VECTORS"] == "1"
    static var dictionaryURL: URL { Fixtures.vectorsDirectory.appendingPathComponent("dictionary-v1.zdict") }

    static func dictionary() throws -> ZstdDictionary {
        if regenerate && !FileManager.default.fileExists(atPath: dictionaryURL.path) {
            try Data(Fixtures.dictionary.bytes).write(to: dictionaryURL)
        }
        return try ZstdDictionary(bytes: Array(try Data(contentsOf: dictionaryURL)))
    }

    static func decoder(_ dictionary: ZstdDictionary) -> FrameDecoder {
        FrameDecoder(dictionaries: [dictionary])
    }

    static func key(_ id: String) -> AgentPublicKey? {
        id == Fixtures.agentID || id == "agent-someone-else" ? Fixtures.signingKey.publicKey : nil
    }

    static func rendering(_ bytes: [UInt8], decoder: FrameDecoder) throws -> String {
        let header = try decoder.header(of: bytes)
        let message = try decoder.payload(of: bytes, header: header)
        let batch = try Cxsync_V1_Batch(serializedBytes: message)
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let headerJSON = """
              "frame": {"major": \(header.major), "minor": \(header.minor), "flags": \(header.flags.rawValue), \
            "kind": "batch", "dictionary_id": \(header.dictionaryID), "decompressed_length": \(header.decompressedLength), \
            "payload_length": \(header.payloadLength), "content_hash": "\(header.contentHash.map { String(format: "%02x", $0) }.joined())", \
            "key_id": "\(header.keyID)", "signed": \(header.isSigned), "total_length": \(bytes.count)},
            """
        return "{\n\(headerJSON)\n  \"message\": \(try batch.jsonString(options: options))\n}\n"
    }

    @Test(arguments: valid)
    func validVectorDecodesAndReencodesByteForByte(vector: Vector) throws {
        let dictionary = try Self.dictionary()
        let encoder = FrameEncoder(level: 3, dictionary: vector.dictionary ? dictionary : nil)
        let decoder = Self.decoder(dictionary)
        let bin = Fixtures.vectorsDirectory.appendingPathComponent("\(vector.name).bin")
        let json = Fixtures.vectorsDirectory.appendingPathComponent("\(vector.name).json")
        if Self.regenerate {
            let bytes = vector.make(encoder)
            try Data(bytes).write(to: bin)
            try Self.rendering(bytes, decoder: decoder).write(to: json, atomically: true, encoding: .utf8)
        }
        let bytes = Array(try Data(contentsOf: bin))
        let batch = try decoder.decodeBatch(bytes, key: Self.key)
        #expect(try Self.rendering(bytes, decoder: decoder) == String(contentsOf: json, encoding: .utf8))
        #expect(encoder.frame(batch.wire, kind: .batch, signer: Fixtures.signer) == bytes)
        #expect(batch.agentID == Fixtures.agentID)
    }

    @Test(arguments: malformed)
    func malformedVectorFailsWithItsExactCode(vector: Vector) throws {
        let dictionary = try Self.dictionary()
        let bin = Fixtures.vectorsDirectory.appendingPathComponent("\(vector.name).bin")
        let json = Fixtures.vectorsDirectory.appendingPathComponent("\(vector.name).json")
        if Self.regenerate {
            let bytes = vector.make(FrameEncoder(level: 3))
            try Data(bytes).write(to: bin)
            var message = ""
            do {
                _ = try Self.decoder(dictionary).decodeBatch(bytes, key: Self.key)
            } catch {
                message = error.message
            }
            let doc =
                "{\n  \"expected_error\": \"\(vector.expectedError!.rawValue)\",\n  \"message\": \(Self.quoted(message)),\n  \"length\": \(bytes.count)\n}\n"
            try doc.write(to: json, atomically: true, encoding: .utf8)
        }
        let bytes = Array(try Data(contentsOf: bin))
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        #expect(doc["expected_error"] as? String == vector.expectedError?.rawValue)
        do {
            _ = try Self.decoder(dictionary).decodeBatch(bytes, key: Self.key)
            Issue.record("\(vector.name) was accepted")
        } catch {
            #expect(error.code == vector.expectedError)
            #expect(error.message == doc["message"] as? String)
        }
    }

    static func quoted(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s]), as: UTF8.self).dropFirst().dropLast()
            .description
    }
}
