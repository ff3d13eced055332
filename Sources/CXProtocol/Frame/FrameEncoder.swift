import Crypto
import SwiftProtobuf

/// Builds frames: header, optionally zstd-compressed payload, optional Ed25519 signature.
public struct FrameEncoder: Sendable {
    /// zstd level; 3 is the measured sweet spot for 1,000-event batches.
    public var level: Int32
    /// When set, payloads are compressed with this dictionary and the header names its id.
    public var dictionary: ZstdDictionary?
    /// Messages shorter than this go uncompressed: zstd's frame overhead would outweigh the gain.
    public var minimumCompressedLength: Int

    public init(level: Int32 = 3, dictionary: ZstdDictionary? = nil, minimumCompressedLength: Int = 64) {
        self.level = level
        self.dictionary = dictionary
        self.minimumCompressedLength = minimumCompressedLength
    }

    /// Frames already-serialised message bytes. `signer` signs as `keyID` (an agent id, at most 128 bytes).
    public func frame(
        message: [UInt8], kind: FrameKind, signer: (keyID: String, key: AgentSigningKey)? = nil
    ) -> [UInt8] {
        var flags: FrameHeader.Flags = []
        var payload = message
        var dictionaryID: UInt32 = 0
        if message.count >= minimumCompressedLength {
            flags.insert(.zstd)
            if let dictionary {
                flags.insert(.dictionary)
                dictionaryID = dictionary.id
            }
            payload = Zstd.compress(message, level: level, dictionary: dictionary)
        }
        let keyID = Array((signer?.keyID ?? "").utf8)
        precondition(keyID.count <= 255, "key ids are at most 255 bytes")
        var out: [UInt8] = []
        out.reserveCapacity(FrameHeader.fixedLength + keyID.count + payload.count + FrameHeader.signatureLength)
        out += FrameHeader.magic
        out += [FrameHeader.currentMajor, FrameHeader.currentMinor, flags.rawValue, kind.rawValue]
        out.appendBigEndian(dictionaryID)
        out.appendBigEndian(UInt32(message.count))
        out.appendBigEndian(UInt32(payload.count))
        out += SHA256.hash(data: message)
        out.append(UInt8(keyID.count))
        out += keyID
        out += payload
        if let signer {
            out += signer.key.signature(for: out[...])
        }
        return out
    }

    /// Serialises and frames a protobuf message.
    public func frame(
        _ message: some SwiftProtobuf.Message, kind: FrameKind, signer: (keyID: String, key: AgentSigningKey)? = nil
    ) -> [UInt8] {
        // Serialising a fully initialised proto3 message cannot fail.
        let bytes: [UInt8] = try! message.serializedBytes()
        return frame(message: bytes, kind: kind, signer: signer)
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v >> 24))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }
}
