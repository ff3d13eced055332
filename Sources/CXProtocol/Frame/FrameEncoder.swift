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

    /// Refuses a key id the receiver's header check would refuse (PROTOCOL.md §4, step 8).
    ///
    /// `frame` traps on such a key id, so callers holding an id from configuration check it here first.
    public static func validateKeyID(_ keyID: String) throws(ProtocolError) {
        let limit = ProtocolLimits.default.maxKeyIDLength
        guard keyID.utf8.count <= limit else {
            throw ProtocolError(.stringTooLong, "key id of \(keyID.utf8.count) bytes exceeds \(limit)")
        }
    }

    /// Frames already-serialised message bytes. `signer` signs as `keyID` (an agent id, at most 128 bytes).
    /// `ratioLimit`: a message that compresses better than this goes uncompressed, as receivers refuse such an
    /// expansion (the protocol's limit; nil only to build a frame a receiver must refuse, in tests).
    public func frame(
        message: [UInt8], kind: FrameKind, signer: (keyID: String, key: AgentSigningKey)? = nil,
        ratioLimit: Int? = ProtocolLimits.default.maxCompressionRatio
    ) -> [UInt8] {
        var flags: FrameHeader.Flags = []
        var payload = message
        var dictionaryID: UInt32 = 0
        if message.count >= minimumCompressedLength {
            let compressed = Zstd.compress(message, level: level, dictionary: dictionary)
            // A receiver refuses an expansion above the protocol's ratio (a bomb, to it), and would refuse this frame
            // every time it is sent: such a message (long repeated values) goes uncompressed instead.
            if ratioLimit.map({ message.count <= compressed.count * $0 }) ?? true {
                flags.insert(.zstd)
                if let dictionary {
                    flags.insert(.dictionary)
                    dictionaryID = dictionary.id
                }
                payload = compressed
            }
        }
        let keyID = Array((signer?.keyID ?? "").utf8)
        precondition(
            keyID.count <= ProtocolLimits.default.maxKeyIDLength,
            "key ids are at most \(ProtocolLimits.default.maxKeyIDLength) bytes (FrameEncoder.validateKeyID)")
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
